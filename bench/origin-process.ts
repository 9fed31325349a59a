/**
 * The origin under test as its own process (`node dist/origin/main.js`, as `npm start` runs it),
 * pointed at the storage child, with metrics on a separate port. One fresh process per scenario
 * run, so a scenario's caches, peak RSS and CPU are its own and not left over from the one before.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { freePort, sleep, tailOf, type ChildRegistry, type ChildRecord } from './children.js';
import { withAllocator } from './environment.js';
import { processMaps, processMemory } from './system.js';

const MAIN = fileURLToPath(new URL('../origin/main.js', import.meta.url));

export interface OriginSettings {
  /** The Node.js binary the origin runs on. */
  readonly node: string;
  /** ORIGIN_TRANSFORM_CONCURRENCY: also the concurrency of `limit`. */
  readonly transformConcurrency: number;
  /** Preloaded allocator library, or undefined for glibc's malloc. */
  readonly jemallocPath: string | undefined;
  /** Extra variables, e.g. longer cache lifetimes. */
  readonly env: Readonly<Record<string, string>>;
}

export interface StartOptions {
  readonly role: string;
  /** Write a V8 CPU profile (`--cpu-prof`) into this folder when the process exits. */
  readonly cpuProfileDir?: string;
  /** Do not wait for /readyz (the cold-start scenario times that itself). */
  readonly noWait?: boolean;
}

export interface RunningOriginProcess {
  readonly pid: number;
  readonly base: string;
  readonly metricsBase: string;
  /** `performance.now()` just before spawn(). */
  readonly spawnedAt: number;
  readonly child: ChildProcess;
  /** Parsed /metrics samples, e.g. `image_origin_requests_total{status="200"}` → 12. */
  metrics(): Promise<MetricSamples>;
  /** Peak resident memory since start (VmHWM), bytes; the RSS metric when /proc is missing. */
  peakRss(): Promise<number | null>;
  /** Whether jemalloc is really mapped into the process (null when it cannot be checked). */
  allocatorLoaded(): boolean | null;
  /** Lines the origin logged (LOG_LEVEL=warn: warnings and errors only). */
  readonly logLines: () => number;
  readonly logTail: () => string;
  /** SIGTERM and wait for the exit (the origin drains first). */
  stop(): Promise<ChildRecord>;
}

export type MetricSamples = ReadonlyMap<string, number>;

export function metricSum(samples: MetricSamples, name: string, labels = ''): number {
  let sum = 0;
  for (const [sample, value] of samples) {
    const bare = sample.split('{')[0];
    if (bare === name && sample.includes(labels)) sum += value;
  }
  return sum;
}

export function parseMetrics(text: string): MetricSamples {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

let probeAgent: Agent | undefined;

/** GET on a fresh loopback request; undefined when the server does not answer (yet). */
export interface ProbeAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export async function probe(url: string, headers: Record<string, string> = {}): Promise<ProbeAnswer | undefined> {
  probeAgent ??= new Agent({ connections: 4, keepAliveTimeout: 1_000 });
  try {
    const res = await request(url, { headers, dispatcher: probeAgent, headersTimeout: 30_000, bodyTimeout: 30_000 });
    return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
  } catch {
    return undefined;
  }
}

export async function closeProbeAgent(): Promise<void> {
  const agent = probeAgent;
  probeAgent = undefined;
  await agent?.close();
}

export async function startOriginProcess(
  settings: OriginSettings,
  storageEnv: Readonly<Record<string, string>>,
  children: ChildRegistry,
  options: StartOptions,
): Promise<RunningOriginProcess> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const env = withAllocator(
    {
      ...process.env,
      ...storageEnv,
      HOST: '127.0.0.1',
      PORT: String(port),
      ORIGIN_METRICS_PORT: String(metricsPort),
      // Per-request lines are info; warn keeps logging out of the measurement but shows trouble.
      LOG_LEVEL: 'warn',
      ORIGIN_TRANSFORM_CONCURRENCY: String(settings.transformConcurrency),
      // As `npm start` and the Docker image run it: libuv's pool runs the transforms, file reads and DNS.
      UV_THREADPOOL_SIZE: '16',
      ...settings.env,
    },
    settings.jemallocPath,
  );
  const args = options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`];

  const spawnedAt = performance.now();
  const child = spawn(settings.node, [...args, MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = children.track(options.role, child);
  let lines = 0;
  child.stdout?.on('data', (chunk: string | Buffer) => void (lines += String(chunk).split('\n').length - 1));
  const logTail = tailOf(child.stdout);
  const stderr = tailOf(child.stderr);
  const pid = child.pid as number;
  const base = `http://127.0.0.1:${port}`;
  const metricsBase = `http://127.0.0.1:${metricsPort}`;

  const origin: RunningOriginProcess = {
    pid,
    base,
    metricsBase,
    spawnedAt,
    child,
    async metrics() {
      const res = await probe(`${metricsBase}/metrics`);
      return res?.status === 200 ? parseMetrics(res.body.toString('utf8')) : new Map();
    },
    async peakRss() {
      const memory = processMemory(pid);
      if (memory) return memory.peak;
      const rss = metricSum(await origin.metrics(), 'process_resident_memory_bytes');
      return rss > 0 ? rss : null;
    },
    allocatorLoaded: () => (settings.jemallocPath === undefined ? null : (processMaps(pid, 'libjemalloc') ?? null)),
    logLines: () => lines,
    logTail: () => [logTail(), stderr()].filter(Boolean).join('\n'),
    stop: () => children.stop(child),
  };
  if (options.noWait) return origin;

  let gone = false;
  void exited.then(() => (gone = true));
  for (const started = performance.now(); performance.now() - started < 30_000; ) {
    if (gone) throw new Error(`origin exited before it was ready:\n${origin.logTail()}`);
    if ((await probe(`${base}/readyz`))?.status === 200) return origin;
    await sleep(10);
  }
  await origin.stop();
  throw new Error(`origin was not ready within 30 s:\n${origin.logTail()}`);
}
