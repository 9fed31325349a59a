/**
 * Turns a preset file into the registry the origin looks presets up in, validating everything at
 * start-up: the file's shape (zod) and every preset's parameters (the same parser requests go
 * through), so a broken preset stops the process with a message naming it instead of failing
 * requests later.
 */
import { InvalidRequestError } from '../transforms/errors.js';
import type { QualityTable } from '../transforms/formats.js';
import type { SpecParser } from '../transforms/parse-spec.js';
import type { RequestedSpec } from '../transforms/params.js';
import type { Watermark } from '../transforms/watermark.js';
import { presetFileSchema } from './preset-schema.js';

export interface Preset {
  readonly name: string;
  /** The preset's parameters, in query spelling. */
  readonly params: ReadonlyMap<string, string>;
  /** Parameters a request may set on top of the preset. */
  readonly overridable: ReadonlySet<string>;
  readonly cacheControl?: string;
  readonly qualities?: QualityTable;
  /** The preset's quality target, instead of ORIGIN_QUALITY_TARGET. */
  readonly qualityTarget?: number;
  /** Autoquality for this preset, instead of ORIGIN_AUTOQUALITY. */
  readonly autoQuality?: boolean;
  /** The preset's own width in CSS pixels, the fallback for `w=auto` without client hints. */
  readonly width?: number;
  /** Answered instead of a missing source (README: "Fallback images"). */
  readonly fallback?: string;
}

export type PresetRegistry = ReadonlyMap<string, Preset>;

/** Everything the preset file defines. */
export interface PresetCatalog {
  readonly presets: PresetRegistry;
  readonly watermarks: ReadonlyMap<string, Watermark>;
}

export class PresetFileError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'PresetFileError';
  }
}

export function createPresetCatalog(file: unknown, parseSpec: SpecParser): PresetCatalog {
  const parsed = presetFileSchema.safeParse(file);
  if (!parsed.success) {
    throw new PresetFileError(
      parsed.error.issues.map((issue) => {
        const [section, name, ...rest] = issue.path.map(String);
        const what = section === 'watermarks' ? 'watermark' : 'preset';
        // A bad name is reported by zod as an invalid record key, with the reason nested.
        if (issue.code === 'invalid_key') return `${what} "${name}": bad name: ${issue.issues[0]?.message ?? issue.message}`;
        return name === undefined ? `${section ?? 'file'}: ${issue.message}` : `${what} "${name}": ${rest.join('.') || 'value'}: ${issue.message}`;
      }),
    );
  }
  const problems: string[] = [];
  const registry = new Map<string, Preset>();
  const watermarks = new Map(Object.entries(parsed.data.watermarks));
  for (const [name, definition] of Object.entries(parsed.data.presets)) {
    const params = new Map(Object.entries(definition.params).filter((e): e is [string, string] => e[1] !== undefined));
    let spec: RequestedSpec;
    try {
      spec = parseSpec(new URLSearchParams([...params]));
    } catch (error) {
      if (!(error instanceof InvalidRequestError)) throw error;
      problems.push(...error.problems.map((p) => `preset "${name}": ${p.param}: ${p.message}`));
      continue;
    }
    if (spec.wm !== undefined && !watermarks.has(spec.wm)) {
      problems.push(`preset "${name}": wm: no watermark named "${spec.wm}" in the file`);
    }
    registry.set(name, {
      name,
      params,
      overridable: new Set(definition.overridable),
      ...(definition.cacheControl !== undefined && { cacheControl: definition.cacheControl }),
      ...(definition.quality !== undefined && { qualities: definition.quality }),
      ...(definition.qualityTarget !== undefined && { qualityTarget: definition.qualityTarget }),
      ...(definition.autoQuality !== undefined && { autoQuality: definition.autoQuality }),
      ...(typeof spec.w === 'number' && { width: spec.w }),
      ...(definition.fallback !== undefined && { fallback: definition.fallback }),
    });
  }
  if (problems.length > 0) throw new PresetFileError(problems);
  return { presets: registry, watermarks };
}
