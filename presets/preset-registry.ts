/**
 * Turns a preset file into the registry the origin looks presets up in, validating everything at
 * start-up: the file's shape (zod) and every preset's parameters (the same parser requests go
 * through), so a broken preset stops the process with a message naming it instead of failing
 * requests later.
 */
import { InvalidRequestError } from '../transforms/errors.js';
import type { QualityTable, RequestedSpec } from '../transforms/spec.js';
import { presetFileSchema } from './preset-schema.js';

export interface Preset {
  readonly name: string;
  /** The preset's parameters, in query spelling. */
  readonly params: ReadonlyMap<string, string>;
  /** Parameters a request may set on top of the preset. */
  readonly overridable: ReadonlySet<string>;
  readonly cacheControl?: string;
  readonly qualities?: QualityTable;
  /** The preset's own width in CSS pixels, the fallback for `w=auto` without client hints. */
  readonly width?: number;
}

export type PresetRegistry = ReadonlyMap<string, Preset>;

export class PresetFileError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'PresetFileError';
  }
}

export function createPresetRegistry(file: unknown, parseSpec: (query: URLSearchParams) => RequestedSpec): PresetRegistry {
  const parsed = presetFileSchema.safeParse(file);
  if (!parsed.success) {
    throw new PresetFileError(
      parsed.error.issues.map((issue) => {
        const [name, ...rest] = issue.path.map(String);
        // A bad preset name is reported by zod as an invalid record key, with the reason nested.
        if (issue.code === 'invalid_key') return `preset "${name}": bad name: ${issue.issues[0]?.message ?? issue.message}`;
        return name === undefined ? issue.message : `preset "${name}": ${rest.join('.') || 'value'}: ${issue.message}`;
      }),
    );
  }
  const problems: string[] = [];
  const registry = new Map<string, Preset>();
  for (const [name, definition] of Object.entries(parsed.data)) {
    const params = new Map(Object.entries(definition.params).filter((e): e is [string, string] => e[1] !== undefined));
    let spec: RequestedSpec;
    try {
      spec = parseSpec(new URLSearchParams([...params]));
    } catch (error) {
      if (!(error instanceof InvalidRequestError)) throw error;
      problems.push(...error.problems.map((p) => `preset "${name}": ${p.param}: ${p.message}`));
      continue;
    }
    registry.set(name, {
      name,
      params,
      overridable: new Set(definition.overridable),
      ...(definition.cacheControl !== undefined && { cacheControl: definition.cacheControl }),
      ...(definition.quality !== undefined && { qualities: definition.quality }),
      ...(typeof spec.width === 'number' && { width: spec.width }),
    });
  }
  if (problems.length > 0) throw new PresetFileError(problems);
  return registry;
}
