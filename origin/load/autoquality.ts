/**
 * Autoquality for one original: which quality each lossy format needs to meet a quality target,
 * measured once per source version on a small probe (transforms/quality/probe-quality.ts) and
 * kept with the original in the originals tier, as plain data (`AutoQualityRecord`) that a
 * result store can keep too. Formats are measured lazily, the first time a variant needs one,
 * and concurrent variants needing the same answer share one measurement. A probe that fails
 * (an image libvips cannot read is refused by the transform itself) leaves the calibrated quality.
 */
import { performance } from 'node:perf_hooks';
import type { LossyFormat } from '../../transforms/formats.js';
import type { TransformLimits } from '../../transforms/limits.js';
import { makeProbe, probeScore, searchQuality, type Probe } from '../../transforms/quality/probe-quality.js';
import type { QualityConfig } from '../quality-config.js';

/** What was measured for one target and format. */
export interface AutoQualityEntry {
  readonly quality: number;
  /** The probe's score at that quality (absent when the range's ceiling was taken untested). */
  readonly score?: number;
  readonly encodes: number;
  /** Wall time of the measurement (probe made once per original, shared by its formats). */
  readonly ms: number;
}

/** Plain data, kept on the original's record: `entries[target][format]`. */
export interface AutoQualityRecord {
  /** The source version measured; a new version is a new record. */
  readonly version: string;
  readonly entries: Record<string, Partial<Record<LossyFormat, AutoQualityEntry>>>;
  /** The probe's size, once made. */
  probe?: { readonly width: number; readonly height: number };
}

export type QualityLookup = (format: LossyFormat, target: number) => Promise<number | undefined>;

export function createAutoQualityRecord(version: string): AutoQualityRecord {
  return { version, entries: {} };
}

/** Work in flight per record: the probe (dropped once idle: it holds ~40 bytes per probe pixel) and the searches. */
interface InFlight {
  probe?: Promise<Probe>;
  readonly searches: Map<string, Promise<AutoQualityEntry>>;
}
const inFlight = new WeakMap<AutoQualityRecord, InFlight>();

/**
 * The lookup the pipeline asks (for variants whose spec says `aq`): the record's answer when it
 * has one, else a measurement whose result is written into the record.
 */
export function autoQualityLookup(
  record: AutoQualityRecord,
  source: Buffer,
  config: QualityConfig,
  limits: TransformLimits,
): QualityLookup {
  return async (format, target) => {
    const known = record.entries[target]?.[format];
    if (known) return known.quality;
    let work = inFlight.get(record);
    if (!work) {
      work = { searches: new Map() };
      inFlight.set(record, work);
    }
    const id = `${target}:${format}`;
    let search = work.searches.get(id);
    if (!search) {
      search = measure(record, work, source, format, target, config, limits);
      work.searches.set(id, search);
    }
    try {
      const entry = await search;
      (record.entries[target] ??= {})[format] = entry;
      return entry.quality;
    } catch {
      return undefined;
    } finally {
      work.searches.delete(id);
      if (work.searches.size === 0) inFlight.delete(record);
    }
  };
}

async function measure(
  record: AutoQualityRecord,
  work: InFlight,
  source: Buffer,
  format: LossyFormat,
  target: number,
  config: QualityConfig,
  limits: TransformLimits,
): Promise<AutoQualityEntry> {
  const started = performance.now();
  work.probe ??= makeProbe(source, limits);
  const probe = await work.probe;
  record.probe ??= { width: probe.pixels.width, height: probe.pixels.height };
  const result = await searchQuality(format, target, config.ranges[format], (q) => probeScore(probe, format, q, limits.encoders));
  return { ...result, ms: Math.round((performance.now() - started) * 10) / 10 };
}
