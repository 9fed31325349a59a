/**
 * The deploy/ manifests: every Kubernetes and Knative object is validated against the API's
 * schema (kubernetes-models, @kubernetes-models/knative) and, strictly, against the same
 * package's types (unknown fields fail, as with `kubectl apply --validate=strict`); the Function
 * Compute s.yaml against a schema written from the fc3 component's documented fields. Then the
 * numbers are checked against each other and against the origin itself: every environment
 * variable is one the origin reads and its config loader accepts, the transform concurrency
 * matches the CPUs and the platforms' request concurrency, probes hit /readyz and /healthz on the
 * image's port, the grace period outlasts the pause plus the drain, the memory fits the sizing rule.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IService as IKnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import * as z from 'zod';
import { ENV_VARIABLES, loadConfig, type Config } from '../origin/config.js';
import { HARD_EXIT_DELAY_MS } from '../origin/shutdown.js';
import { parseDockerfile, parseEnv } from './helpers/dockerfile.js';
import { loadYaml, quantity, schemaProblems, strictProblems, type Manifest } from './helpers/manifests.js';
import { PROJECT_ROOT } from '../support/paths.js';

const KUBERNETES = 'deploy/kubernetes';
const KNATIVE = 'deploy/knative/service.yaml';
const FUNCTION_COMPUTE = 'deploy/function-compute/s.yaml';
const MiB = 2 ** 20;

/**
 * Memory one pod needs (README "Memory"): the memory tiers and the decode cache when full, the
 * transforms' memory budget, and ~150 MB for Node.js, sharp and buffers (the bench's idle RSS
 * after start-up is 127–138 MB).
 */
function memoryNeeded(config: Config): number {
  const { cache, load } = config;
  return cache.originalsBytes + cache.variantsBytes + cache.decodesBytes + load.transformMemoryBytes + 150 * MiB;
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(PROJECT_ROOT, dir), { recursive: true });
  return entries.filter((f) => /\.ya?ml$/.test(f)).map((f) => `${dir}/${f.split(path.sep).join('/')}`).sort();
}

async function kubernetesManifests(): Promise<Manifest[]> {
  const files = (await yamlFiles(KUBERNETES)).filter((f) => !f.endsWith('/kustomization.yaml'));
  return (await Promise.all([...files, KNATIVE].map(loadYaml))).flat();
}

/** The variables the origin reads: the keys of its environment schema. */
async function originVariables(): Promise<Set<string>> {
  const names = new Set(ENV_VARIABLES);
  assert.ok(names.has('ORIGIN_TRANSFORM_CONCURRENCY') && names.has('PORT'), 'read the origin variables');
  return names;
}

/** The image's ENV (PORT and friends) from the Dockerfile's final stage. */
async function imageEnv(): Promise<Record<string, string>> {
  const stages = parseDockerfile(await readFile(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8'));
  const runtime = stages.at(-1)!;
  return Object.assign({}, ...runtime.instructions.filter((i) => i.keyword === 'ENV').map((i) => parseEnv(i.args))) as Record<string, string>;
}

/**
 * The environment a container would see, for the origin's own config loader: the image's ENV,
 * then the manifest's literal values; values from Secrets (or the deploy tool's environment)
 * stand in as placeholders, which the loader accepts as it would the real ones.
 */
function containerEnv(image: Record<string, string>, entries: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = { ...image };
  for (const [name, value] of Object.entries(entries)) env[name] = value ?? `placeholder-for-${name.toLowerCase()}`;
  return env;
}

function kubernetesEnv(vars: readonly IEnvVar[] | undefined): Record<string, string | undefined> {
  return Object.fromEntries((vars ?? []).map((v) => [v.name, v.value]));
}

async function checkVariables(label: string, names: Iterable<string>): Promise<void> {
  const known = await originVariables();
  for (const name of names) assert.ok(known.has(name), `${label}: ${name} is not a variable the origin reads`);
}

test('every Kubernetes and Knative manifest is valid against its API schema, strictly (no unknown fields)', async () => {
  const manifests = await kubernetesManifests();
  const kinds = manifests.map((m) => `${String(m.value.apiVersion)} ${String(m.value.kind)}`);
  for (const kind of ['apps/v1 Deployment', 'v1 Service', 'autoscaling/v2 HorizontalPodAutoscaler', 'policy/v1 PodDisruptionBudget', 'serving.knative.dev/v1 Service']) {
    assert.ok(kinds.includes(kind), `deploy/ ships a ${kind}`);
  }
  assert.deepEqual(manifests.flatMap(schemaProblems), []);
  assert.deepEqual(Object.fromEntries(strictProblems(manifests)), {});
});

test('the validation has teeth: a wrong type, a bad quantity and a misspelt field are each caught', async () => {
  const [deployment] = await loadYaml(`${KUBERNETES}/deployment.yaml`);
  const [knative] = await loadYaml(KNATIVE);
  const mutate = (m: Manifest, change: (copy: Record<string, any>) => void): Manifest => {
    const copy = structuredClone(m.value) as Record<string, any>;
    change(copy);
    return { ...m, label: `${m.label} (mutated)`, value: copy };
  };

  const badCpu = mutate(deployment!, (d) => (d.spec.template.spec.containers[0].resources.limits.cpu = '2 cores'));
  assert.match(schemaProblems(badCpu).join(), /cpu/);
  const badConcurrency = mutate(knative!, (k) => (k.spec.template.spec.containerConcurrency = 'two'));
  assert.match(schemaProblems(badConcurrency).join(), /containerConcurrency must be integer/);

  const typo = mutate(deployment!, (d) => {
    const container = d.spec.template.spec.containers[0];
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
  });
  assert.deepEqual(schemaProblems(typo), [], 'the JSON schemas allow unknown fields…');
  const strict = strictProblems([typo]).get(typo.label)?.join(' ') ?? '';
  assert.match(strict, /'"?readinesProbe"?' does not exist/, '…the strict pass does not');
  const knativeTypo = mutate(knative!, (k) => (k.spec.template.spec.containerConcurency = 2));
  assert.match(strictProblems([knativeTypo]).get(knativeTypo.label)?.join(' ') ?? '', /containerConcurency/);
});

test('the Kubernetes Deployment: probes, resources matching the transform concurrency, preStop pause, grace beyond the drain', async () => {
  const [manifest] = await loadYaml(`${KUBERNETES}/deployment.yaml`);
  const deployment = manifest!.value as unknown as IDeployment;
  const pod = deployment.spec!.template.spec!;
  assert.equal(pod.containers.length, 1);
  const container = pod.containers[0]!;
  const image = await imageEnv();

  const env = kubernetesEnv(container.env);
  await checkVariables('deployment.yaml', Object.keys(env));
  const config = loadConfig(containerEnv(image, env), PROJECT_ROOT); // throws naming any bad value

  // Ports: the image's PORT, named for the probes and the Service.
  const http = container.ports?.find((p) => p.name === 'http');
  assert.equal(http?.containerPort, Number(image.PORT), 'containerPort is the port the image listens on');
  assert.equal(config.server.port, Number(image.PORT));
  const metricsPort = container.ports?.find((p) => p.name === 'metrics')?.containerPort;
  assert.equal(metricsPort, config.server.metricsPort, 'the metrics port is the one ORIGIN_METRICS_PORT opens');

  assert.equal(container.readinessProbe?.httpGet?.path, '/readyz');
  assert.equal(container.readinessProbe?.httpGet?.port, 'http');
  assert.equal(container.livenessProbe?.httpGet?.path, '/healthz');
  assert.equal(container.livenessProbe?.httpGet?.port, 'http');
  assert.equal(container.startupProbe?.httpGet?.path, '/readyz');

  // Resources: requests = limits (Guaranteed), concurrency = whole CPUs, memory by the sizing rule.
  const { requests, limits } = container.resources ?? {};
  assert.ok(requests && limits, 'requests and limits are set');
  assert.equal(quantity(requests.cpu), quantity(limits.cpu));
  assert.equal(quantity(requests.memory), quantity(limits.memory));
  const cpus = quantity(limits.cpu);
  assert.equal(config.load.transformConcurrency, Math.floor(cpus), 'ORIGIN_TRANSFORM_CONCURRENCY = the CPU limit');
  assert.ok(
    quantity(limits.memory) >= memoryNeeded(config),
    `memory limit ${limits.memory} < ${Math.ceil(memoryNeeded(config) / MiB)} MiB the sizing rule asks for`,
  );

  // Shutdown: the pause lets the endpoint leave the load balancers before SIGTERM; the grace
  // period covers the pause and the origin's whole drain.
  const preStop = container.lifecycle?.preStop?.exec?.command;
  assert.equal(preStop?.[0], 'sleep', 'preStop pauses');
  const pauseSeconds = Number(preStop?.[1]);
  assert.ok(pauseSeconds >= 5, 'a pause of at least 5 s');
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  // The origin ends by itself at the latest HARD_EXIT_DELAY_MS after its own grace period.
  const drainSeconds = (config.server.shutdownGraceMs + HARD_EXIT_DELAY_MS) / 1000;
  assert.ok(
    grace > pauseSeconds + drainSeconds,
    `terminationGracePeriodSeconds ${grace} must exceed preStop ${pauseSeconds} s + drain ${drainSeconds} s`,
  );

  // Runs as the image's non-root user; /tmp stays writable on a read-only root.
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.equal(pod.securityContext?.runAsUser, 1000, 'the node user of the image');
  if (container.securityContext?.readOnlyRootFilesystem) {
    assert.ok(container.volumeMounts?.some((m) => m.mountPath === '/tmp'), 'a writable /tmp');
  }
  assert.ok(!/:latest$|^[^:]+$/.test(container.image ?? ''), 'a pinned image tag');
  assert.equal(deployment.spec!.replicas, undefined, 'the HPA owns the replica count');
  assert.equal(deployment.spec!.strategy?.rollingUpdate?.maxUnavailable, 0, 'rollouts never lower capacity');
});

test('Service, HPA, PodDisruptionBudget and kustomization fit the Deployment', async () => {
  const [d] = await loadYaml(`${KUBERNETES}/deployment.yaml`);
  const deployment = d!.value as unknown as IDeployment;
  const podLabels = deployment.spec!.template.metadata!.labels!;
  const selects = (selector: Record<string, string> | undefined) =>
    selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => podLabels[k] === v);
  assert.ok(selects(deployment.spec!.selector.matchLabels), 'the Deployment selects its own pods');

  const [s] = await loadYaml(`${KUBERNETES}/service.yaml`);
  const service = s!.value as unknown as IService;
  assert.ok(selects(service.spec!.selector), 'the Service selects the pods');
  const portNames = deployment.spec!.template.spec!.containers[0]!.ports!.map((p) => p.name);
  for (const port of service.spec!.ports!) assert.ok(portNames.includes(String(port.targetPort)), `Service port ${port.name} targets a container port`);
  assert.ok(!service.spec!.ports!.some((p) => p.targetPort === 'metrics'), '/metrics is not exposed to the CDN');

  for (const file of [`${KUBERNETES}/hpa.yaml`, `${KUBERNETES}/optional/hpa-queue-depth.yaml`]) {
    const [h] = await loadYaml(file);
    const hpa = h!.value as unknown as IHorizontalPodAutoscaler;
    assert.deepEqual(hpa.spec!.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata!.name }, file);
    assert.ok((hpa.spec!.minReplicas ?? 1) >= 2, `${file}: at least two replicas, so one can be drained`);
    const cpu = hpa.spec!.metrics!.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
    assert.equal(cpu?.resource?.target.type, 'Utilization', `${file}: scales on CPU`);
    assert.ok((hpa.spec!.behavior?.scaleDown?.stabilizationWindowSeconds ?? 0) >= 60, `${file}: scales down slowly`);
  }
  const [q] = await loadYaml(`${KUBERNETES}/optional/hpa-queue-depth.yaml`);
  const queue = (q!.value as unknown as IHorizontalPodAutoscaler).spec!.metrics!.find((m) => m.type === 'Pods');
  assert.equal(queue?.pods?.metric.name, 'image_origin_queue_depth', 'the queue-depth HPA uses the origin’s metric');
  const metrics = await readFile(path.join(PROJECT_ROOT, 'origin', 'metrics.ts'), 'utf8');
  assert.match(metrics, /image_origin_queue_depth/, 'and the origin exports it');

  const [p] = await loadYaml(`${KUBERNETES}/pdb.yaml`);
  const pdb = p!.value as unknown as IPodDisruptionBudget;
  assert.ok(selects(pdb.spec!.selector!.matchLabels), 'the PDB covers the pods');
  const [hp] = await loadYaml(`${KUBERNETES}/hpa.yaml`);
  const minReplicas = (hp!.value as unknown as IHorizontalPodAutoscaler).spec!.minReplicas ?? 1;
  assert.ok(Number(pdb.spec!.maxUnavailable) < minReplicas, 'a drain never takes every replica');

  const [k] = await loadYaml(`${KUBERNETES}/kustomization.yaml`);
  const kustomization = z
    .strictObject({ apiVersion: z.literal('kustomize.config.k8s.io/v1beta1'), kind: z.literal('Kustomization'), resources: z.array(z.string()) })
    .parse(k!.value);
  const top = (await readdir(path.join(PROJECT_ROOT, KUBERNETES))).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
  assert.deepEqual([...kustomization.resources].sort(), top.sort(), 'kustomization lists every top-level manifest');
});

test('the Knative Service: container concurrency = transform concurrency = CPUs, probes, timeout above the deadline', async () => {
  const [manifest] = await loadYaml(KNATIVE);
  const service = manifest!.value as unknown as IKnativeService;
  const template = service.spec!.template!;
  const revision = template.spec!;
  const container = revision.containers[0]!;
  const image = await imageEnv();
  const env = Object.fromEntries((container.env ?? []).map((v) => [v.name, v.value]));
  await checkVariables('knative/service.yaml', Object.keys(env));
  assert.ok(!('PORT' in env), 'Knative sets PORT itself');
  const config = loadConfig(containerEnv(image, env), PROJECT_ROOT);

  assert.equal(revision.containerConcurrency, config.load.transformConcurrency, 'containerConcurrency = ORIGIN_TRANSFORM_CONCURRENCY');
  const cpus = quantity(container.resources?.limits?.cpu);
  assert.equal(config.load.transformConcurrency, Math.floor(cpus), 'and = the CPU limit');
  assert.ok(quantity(container.resources?.limits?.memory) >= memoryNeeded(config), 'memory by the sizing rule');
  assert.equal(container.ports?.[0]?.containerPort, Number(image.PORT));
  assert.equal(container.readinessProbe?.httpGet?.path, '/readyz');
  assert.equal(container.livenessProbe?.httpGet?.path, '/healthz');
  assert.ok((revision.timeoutSeconds ?? 300) * 1000 > config.load.requestDeadlineMs, 'the platform waits longer than the origin’s own deadline');
  const annotations = template.metadata?.annotations ?? {};
  assert.ok(Number(annotations['autoscaling.knative.dev/min-scale']) >= 1, 'never scales to zero (no cold start on a user’s request)');
  assert.equal(annotations['autoscaling.knative.dev/metric'] ?? 'concurrency', 'concurrency');
});

/**
 * The fc3 component's props that s.yaml uses, with the ranges the component documents (its
 * YAML reference and schema): strict objects, so a misspelt key is an error here as well.
 * Written for this test from those documents; Function Compute publishes no npm schema package.
 */
const healthCheckConfig = z.strictObject({
  httpGetUrl: z.string().startsWith('/'),
  initialDelaySeconds: z.number().int().min(0).optional(),
  periodSeconds: z.number().int().min(1).optional(),
  timeoutSeconds: z.number().int().min(1).optional(),
  failureThreshold: z.number().int().min(1).optional(),
  successThreshold: z.number().int().min(1).optional(),
});
const httpTrigger = z.strictObject({
  triggerName: z.string().min(1),
  triggerType: z.literal('http'),
  qualifier: z.string().optional(),
  description: z.string().optional(),
  triggerConfig: z.strictObject({
    authType: z.enum(['anonymous', 'function']),
    methods: z.array(z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])).min(1),
    disableURLInternet: z.boolean().optional(),
    authConfig: z.string().optional(),
  }),
});
const fcProps = z
  .strictObject({
    region: z.string().min(1),
    functionName: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/),
    description: z.string().optional(),
    runtime: z.literal('custom-container'),
    cpu: z.number().min(0.05).max(16).refine((v) => Math.abs(v * 20 - Math.round(v * 20)) < 1e-9, 'a multiple of 0.05 vCPU'),
    memorySize: z.number().int().min(128).max(32768).multipleOf(64),
    diskSize: z.union([z.literal(512), z.literal(10240)]),
    timeout: z.number().int().min(1).max(86400),
    instanceConcurrency: z.number().int().min(1).max(100),
    internetAccess: z.boolean().optional(),
    role: z.string().optional(),
    logConfig: z.union([z.literal('auto'), z.strictObject({ project: z.string(), logstore: z.string(), enableRequestMetrics: z.boolean().optional(), enableInstanceMetrics: z.boolean().optional() })]).optional(),
    customContainerConfig: z.strictObject({
      image: z.string().min(1),
      port: z.number().int().min(1).max(65535),
      command: z.array(z.string()).optional(),
      entrypoint: z.array(z.string()).optional(),
      healthCheckConfig: healthCheckConfig.optional(),
    }),
    environmentVariables: z.record(z.string(), z.string()),
    triggers: z.array(httpTrigger).min(1),
  })
  .refine((p) => p.memorySize / 1024 >= p.cpu && p.memorySize / 1024 <= 4 * p.cpu, 'memory must be 1 to 4 GB per vCPU');
const serverlessDevs = z.strictObject({
  edition: z.literal('3.0.0'),
  name: z.string().min(1),
  access: z.string().min(1),
  vars: z.record(z.string(), z.string()).optional(),
  resources: z.record(z.string(), z.strictObject({ component: z.literal('fc3'), props: z.unknown() })),
});

/** `${vars.x}` replaced; `${env('X')}` (filled by `s deploy` from its shell) left as a marker. */
function resolveVars<T>(value: T, vars: Readonly<Record<string, string>>): T {
  const text = JSON.stringify(value).replace(/\$\{vars\.([A-Za-z0-9_]+)\}/g, (whole, name: string) => vars[name] ?? whole);
  assert.ok(!/\$\{vars\./.test(text), 'every ${vars.…} is defined');
  return JSON.parse(text) as T;
}

test('the Function Compute s.yaml: fc3 custom container, instance concurrency = transform concurrency, HTTP trigger, health check', async () => {
  const [manifest] = await loadYaml(FUNCTION_COMPUTE);
  const project = serverlessDevs.parse(manifest!.value);
  const resources = Object.values(project.resources);
  assert.equal(resources.length, 1);
  const props = fcProps.parse(resolveVars(resources[0]!.props, project.vars ?? {}));

  const image = await imageEnv();
  const fromDeployShell = (v: string) => (/^\$\{env\('[A-Z0-9_]+'\)\}$/.test(v) ? undefined : v);
  const env = Object.fromEntries(Object.entries(props.environmentVariables).map(([k, v]) => [k, fromDeployShell(v)]));
  await checkVariables('s.yaml', Object.keys(env));
  const config = loadConfig(containerEnv(image, env), PROJECT_ROOT);

  assert.equal(props.instanceConcurrency, config.load.transformConcurrency, 'instanceConcurrency = ORIGIN_TRANSFORM_CONCURRENCY');
  assert.equal(config.load.transformConcurrency, Math.floor(props.cpu), 'and = the vCPUs');
  assert.ok(props.memorySize * MiB >= memoryNeeded(config), 'memory by the sizing rule');
  assert.equal(props.customContainerConfig.port, Number(image.PORT), 'the port the image listens on');
  assert.equal(props.customContainerConfig.healthCheckConfig?.httpGetUrl, '/readyz');
  assert.ok(props.timeout * 1000 > config.load.requestDeadlineMs, 'the platform waits longer than the origin’s own deadline');
  const [trigger] = props.triggers;
  assert.deepEqual([...trigger!.triggerConfig.methods].sort(), ['GET', 'HEAD'], 'the CDN needs GET and HEAD, nothing else');
  assert.equal(trigger!.triggerConfig.authType, 'anonymous', 'the CDN back-to-origin sends no FC signature');

  // The schema catches what it should.
  assert.throws(() => fcProps.parse({ ...props, memorySize: 2000 }), /multiple of 64/);
  assert.throws(() => fcProps.parse({ ...props, instanceConcurency: 2 }), /instanceConcurency/);
  assert.throws(() => fcProps.parse({ ...props, cpu: 2, memorySize: 1024 }), /1 to 4 GB per vCPU/);
});
