/**
 * Validation of the deploy/ manifests against real schemas, in two passes:
 *  1. `kubernetes-models` (Kubernetes 1.33 API) and `@kubernetes-models/knative` (Knative
 *     Serving 1.10's CRD schema): each object is checked by the package's JSON-schema validator
 *     (types, formats such as quantities, required fields, enums);
 *  2. strictness, as `kubectl apply --validate=strict` has it: those schemas allow unknown fields,
 *     so every object is also type-checked by the TypeScript compiler against the same package's
 *     generated types, where an object literal with a field the type does not have is an error
 *     (a misspelt `readinesProbe` fails here, although the JSON schema lets it through).
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Service } from 'kubernetes-models/v1/Service';
import { Service as KnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import { PROJECT_ROOT } from '../../support/paths.js';

export interface Manifest {
  /** "deploy/kubernetes/hpa.yaml#0" */
  readonly label: string;
  readonly file: string;
  readonly value: Record<string, unknown>;
}

/** Every YAML document of a file, parsed strictly (duplicate keys, bad syntax: errors). */
export async function loadYaml(file: string): Promise<Manifest[]> {
  const text = await readFile(path.join(PROJECT_ROOT, file), 'utf8');
  return parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true }).map((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`${file}#${index}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${file}#${index}: not a mapping`);
    return { label: `${file}#${index}`, file, value: value as Record<string, unknown> };
  });
}

interface ModelInfo {
  /** The package's validator: throws naming every violation. */
  validate(value: Record<string, unknown>): void;
  /** Where the TypeScript type lives, for the strict pass. */
  readonly typeModule: string;
  readonly typeName: string;
}

const model = (
  Model: new (data: never) => { validate(): void },
  typeModule: string,
  typeName: string,
): ModelInfo => ({ validate: (value) => new Model(value as never).validate(), typeModule, typeName });

/** The kinds deploy/ uses, by `apiVersion kind`. */
export const MODELS: Readonly<Record<string, ModelInfo>> = {
  'apps/v1 Deployment': model(Deployment, 'kubernetes-models/apps/v1/Deployment', 'IDeployment'),
  'v1 Service': model(Service, 'kubernetes-models/v1/Service', 'IService'),
  'autoscaling/v2 HorizontalPodAutoscaler': model(HorizontalPodAutoscaler, 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', 'IHorizontalPodAutoscaler'),
  'policy/v1 PodDisruptionBudget': model(PodDisruptionBudget, 'kubernetes-models/policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'),
  'serving.knative.dev/v1 Service': model(KnativeService, '@kubernetes-models/knative/serving.knative.dev/v1/Service', 'IService'),
};

export function modelOf(manifest: Manifest): ModelInfo {
  const key = `${String(manifest.value.apiVersion)} ${String(manifest.value.kind)}`;
  const info = MODELS[key];
  if (!info) throw new Error(`${manifest.label}: no schema registered for ${key} (add it to MODELS in test/helpers/manifests.ts)`);
  return info;
}

/** Pass 1: the package's JSON-schema validation. Returns the problems (empty when valid). */
export function schemaProblems(manifest: Manifest): string[] {
  try {
    modelOf(manifest).validate(manifest.value);
    return [];
  } catch (error) {
    return [`${manifest.label}: ${(error as Error).message}`];
  }
}

/**
 * Pass 2: compiles `const m: IDeployment = <the manifest as JSON>` for every manifest in one
 * TypeScript program and returns the compiler's errors by manifest label.
 */
export function strictProblems(manifests: readonly Manifest[]): Map<string, string[]> {
  const file = path.join(PROJECT_ROOT, 'test', '__deploy_manifests__.ts');
  const owners: string[] = [];
  const lines: string[] = [];
  manifests.forEach((m, i) => {
    const info = modelOf(m);
    lines.push(`import type { ${info.typeName} as T${i} } from '${info.typeModule}';`);
    owners.push(m.label);
  });
  manifests.forEach((m, i) => {
    lines.push(`export const m${i}: T${i} = ${JSON.stringify(m.value)};`);
    owners.push(m.label);
  });
  const text = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts'],
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile: read } = host;
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, text, language) : getSourceFile.call(host, name, language, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? text : read.call(host, name));
  const program = ts.createProgram({ rootNames: [file], options, host });
  const problems = new Map<string, string[]>();
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    const owner =
      diagnostic.file?.fileName === file && diagnostic.start !== undefined
        ? owners[diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line] ?? 'deploy manifests'
        : `${diagnostic.file?.fileName ?? 'compiler'}`;
    problems.set(owner, [...(problems.get(owner) ?? []), message]);
  }
  return problems;
}

/** A Kubernetes quantity in base units: "2" → 2, "1500m" → 1.5, "1Gi" → 1073741824. */
export function quantity(value: unknown): number {
  const text = String(value);
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(text);
  if (!match) throw new Error(`not a quantity: ${text}`);
  const factors: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  const factor = factors[match[2]!];
  if (factor === undefined) throw new Error(`unknown quantity suffix in ${text}`);
  return Number(match[1]) * factor;
}
