/**
 * Turns the runs into the results: ratios between scenarios of the same round, one entry per
 * scenario (headline = median over the rounds, every run kept under `runs`), the targets, the
 * printed table and the JSON file.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Environment } from './environment.js';
import type { ScenarioName } from './options.js';
import type { Json, RunFigures } from './scenarios/types.js';
import { SOAK_JUDGED_FROM_S, SOAK_RSS_GROWTH_LIMIT_PCT } from './scenarios/soak.js';
import { BYTES_TARGETS, SPREAD_LIMIT, WORST_MARGIN } from './scenarios/bytes.js';
import { LOSSY_FORMATS } from './quality/photos.js';
import { median, ratio, round } from './stats.js';

/** Adds the same-round ratios the targets are stated in. */
export function withRatios(runs: readonly RunFigures[]): RunFigures[] {
  // The mean (the median of two) of a scenario's runs in a round: the runs on both sides of the
  // one judged (benchmark.ts), so a steady drift of the host's speed cancels.
  const roundMean = (name: ScenarioName, roundNo: number, figure: (r: RunFigures) => number | null | undefined) =>
    median(runs.filter((r) => r.name === name && r.round === roundNo).map((r) => figure(r) ?? NaN));
  return runs.map((run) => {
    if (run.name === 'cold') {
      const limit = roundMean('limit', run.round, (r) => r.rps);
      return { ...run, extra: { ...run.extra, ratio_to_limit: r3(ratio(run.rps ?? NaN, limit)) } };
    }
    if (run.name === 'overload') {
      const [coldRps, coldP99] = [roundMean('cold', run.round, (r) => r.rps), roundMean('cold', run.round, (r) => r.p99_ms)];
      return {
        ...run,
        extra: {
          ...run.extra,
          goodput_ratio_to_cold: r3(ratio(run.rps ?? NaN, coldRps)),
          full_quality_ratio_to_cold: r3(ratio(Number(run.extra['full_quality_goodput_rps'] ?? NaN), coldRps)),
          p99_ratio_to_cold: r3(ratio(run.p99_ms ?? NaN, coldP99)),
          cold_rps: r3(coldRps),
          cold_p99_ms: r3(coldP99),
        },
      };
    }
    return run;
  });
}

const r3 = (v: number): number | null => (Number.isFinite(v) ? round(v, 3) : null);

export interface ScenarioEntry {
  readonly name: ScenarioName;
  readonly rps: number | null;
  readonly p50_ms: number | null;
  readonly p95_ms: number | null;
  readonly p99_ms: number | null;
  readonly peak_rss_mb: number | null;
  readonly server_cores: number | null;
  readonly loadgen_cores: number | null;
  readonly other_cores: number | null;
  readonly steal_max: number | null;
  readonly rounds: number;
  /** Numeric scenario figures (ratios, shares, …) as medians over the rounds. */
  readonly [figure: string]: Json | readonly RunFigures[];
  readonly runs: readonly RunFigures[];
}

function med(values: readonly (number | null | undefined)[]): number | null {
  const numbers = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return numbers.length === 0 ? null : round(median(numbers), 3);
}

function max(values: readonly (number | null | undefined)[]): number | null {
  const numbers = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return numbers.length === 0 ? null : Math.max(...numbers);
}

export function scenarioEntries(runs: readonly RunFigures[], order: readonly ScenarioName[]): ScenarioEntry[] {
  return order
    .map((name) => runs.filter((r) => r.name === name))
    .filter((list) => list.length > 0)
    .map((list) => {
      const first = list[0] as RunFigures;
      const extras: Record<string, number | null> = {};
      for (const key of Object.keys(first.extra)) {
        if (typeof first.extra[key] === 'number' || first.extra[key] === null) extras[key] = med(list.map((r) => r.extra[key] as number | null));
      }
      return {
        name: first.name,
        ...extras,
        rps: med(list.map((r) => r.rps)),
        p50_ms: med(list.map((r) => r.p50_ms)),
        p95_ms: med(list.map((r) => r.p95_ms)),
        p99_ms: med(list.map((r) => r.p99_ms)),
        peak_rss_mb: max(list.map((r) => r.peak_rss_mb)),
        server_cores: med(list.map((r) => r.server_cores)),
        loadgen_cores: med(list.map((r) => r.loadgen_cores)),
        other_cores: med(list.map((r) => r.other_cores)),
        steal_max: max(list.map((r) => r.steal)),
        rounds: new Set(list.map((r) => r.round)).size,
        runs: list,
      };
    });
}

export interface TargetCheck {
  readonly target: string;
  /** The measured value (median over rounds), in the target's unit. */
  readonly value: number | null;
  readonly per_round: readonly (number | null)[];
  readonly met: boolean | null;
  /** Why a measured value is not judged (met is then null). */
  readonly not_judged?: string;
}

export function checkTargets(entries: readonly ScenarioEntry[], runs: readonly RunFigures[]): TargetCheck[] {
  // One figure per round (the median of its runs: `cold` runs twice in a round), and their median.
  const figure = (name: ScenarioName, key: string) => {
    const list = runs.filter((r) => r.name === name);
    const pick = (r: RunFigures): number | null => {
      const v = key in r.extra ? r.extra[key] : (r as unknown as Record<string, unknown>)[key];
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    };
    const perRound = [...new Set(list.map((r) => r.round))].map((roundNo) => med(list.filter((r) => r.round === roundNo).map(pick)));
    return { value: med(perRound), per_round: perRound };
  };
  const check = (target: string, f: { value: number | null; per_round: (number | null)[] }, ok: (v: number) => boolean): TargetCheck => ({
    target,
    ...f,
    met: f.value === null ? null : ok(f.value),
  });
  // The origin's memory: the limit process is not the origin.
  const rss = max(entries.filter((e) => e.name !== 'limit').map((e) => e.peak_rss_mb));
  return [
    check('vs ipx: fan-out, every case >= 1.2x', figure('peer', 'fanout_min_ratio'), (v) => v >= 1.2),
    check('vs ipx: one variant per original, every case >= 1.1x', figure('peer', 'feed_min_ratio'), (v) => v >= 1.1),
    check('cold >= 0.95x limit (raw sharp)', figure('cold', 'ratio_to_limit'), (v) => v >= 0.95),
    check('hot >= 0.6x bare fastify', figure('hot', 'ratio_to_bare'), (v) => v >= 0.6),
    check('cold start (fs) <= 150 ms to first image', figure('coldstart', 'first_image_fs_ms'), (v) => v <= 150),
    check('cold start (S3) <= 200 ms to first image', figure('coldstart', 'first_image_ms'), (v) => v <= 200),
    check('full quality under overload >= 0.8x cold', figure('overload', 'full_quality_ratio_to_cold'), (v) => v >= 0.8),
    check('goodput under overload >= 3x cold', figure('overload', 'goodput_ratio_to_cold'), (v) => v >= 3),
    check('served p99 under overload <= 3x cold p99', figure('overload', 'p99_ratio_to_cold'), (v) => v <= 3),
    check('shed answers under overload p99 <= 5 ms', figure('overload', 'shed_p99_ms'), (v) => v <= 5),
    check('peak RSS <= 400 MB (every origin run)', { value: rss, per_round: [] }, (v) => v <= 400),
    check('restart with a result store: 0 transforms repeated', figure('restart', 'transforms_with_store'), (v) => v === 0),
    check('upload burst: live p99 <= 1.5x uncontended', figure('upload', 'live_p99_ratio'), (v) => v <= 1.5),
    soakRss(check(`soak RSS flat (growth % after warm-up) <= ${SOAK_RSS_GROWTH_LIMIT_PCT}`, figure('soak', 'rss_growth_pct'), (v) => v <= SOAK_RSS_GROWTH_LIMIT_PCT), runs),
    check('soak 5xx on bad input = 0', figure('soak', 'bad_input_5xx'), (v) => v === 0),
    ...LOSSY_FORMATS.map((f) => check(`bytes ${f} <= ${BYTES_TARGETS[f]}x ipx at the same mean score`, figure('bytes', `${f}_ratio`), (v) => v <= BYTES_TARGETS[f])),
    check(`bytes worst photo >= ipx's worst default photo - ${WORST_MARGIN} (points, worst format)`, figure('bytes', 'worst_margin_points'), (v) => v >= -WORST_MARGIN),
    check(`bytes mean score spread across formats <= ${SPREAD_LIMIT} points`, figure('bytes', 'spread_points'), (v) => v <= SPREAD_LIMIT),
  ];
}

/**
 * The RSS target is stated over the last 8 of 10 minutes; a shorter soak (`--quick`: 24 s after a
 * 6 s warm-up) shows the figure, but mostly measures the process still settling and which
 * transforms happened to be in flight: not judged.
 */
function soakRss(check: TargetCheck, runs: readonly RunFigures[]): TargetCheck {
  const longest = Math.max(0, ...runs.filter((r) => r.name === 'soak').map((r) => r.seconds));
  if (check.value === null || longest >= SOAK_JUDGED_FROM_S) return check;
  return { ...check, met: null, not_judged: `not judged: ${longest} s soak, judged from ${SOAK_JUDGED_FROM_S} s` };
}

// ---------------------------------------------------------------------------------------------
// Printing

const fmt = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));
const pct = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${(v * 100).toFixed(1)}%`);

function ratioCell(run: RunFigures): string {
  const n = (key: string) => run.extra[key] as number | null | undefined;
  switch (run.name) {
    case 'cold':
      return `${fmt(n('ratio_to_limit'), 2)}x limit`;
    case 'hot':
      return `${fmt(n('ratio_to_bare'), 2)}x bare`;
    case 'overload':
      return `${fmt(n('goodput_ratio_to_cold'), 2)}x cold (full quality ${fmt(n('full_quality_ratio_to_cold'), 2)}x), p99 ${fmt(n('p99_ratio_to_cold'), 1)}x`;
    case 'peer':
      return `min ${fmt(n('fanout_min_ratio'), 2)}x / ${fmt(n('feed_min_ratio'), 2)}x ipx (lean ${fmt(n('lean_fanout_min_ratio'), 2)}x / ${fmt(n('lean_feed_min_ratio'), 2)}x)`;
    case 'soak':
      return `RSS ${fmt(n('rss_growth_pct'), 1)}% after warm-up`;
    default:
      return '';
  }
}

function rateCell(run: RunFigures): string {
  if (run.rps === null) return '-';
  const digits = run.rps >= 1000 ? 0 : run.rps >= 100 ? 1 : 2;
  return run.name === 'limit' ? `${run.rps.toFixed(digits)} img/s` : `${run.rps.toFixed(digits)}/s`;
}

export function renderTable(runs: readonly RunFigures[]): string {
  const headers = ['scenario', 'round', 'rate', 'p50 ms', 'p95 ms', 'p99 ms', 'ratio', 'peak RSS MB', 'server CPU', 'loadgen CPU', 'other CPU', 'steal', 'notes'];
  const rows = runs.map((r) => [
    r.name,
    String(r.round),
    rateCell(r),
    fmt(r.p50_ms),
    fmt(r.p95_ms),
    fmt(r.p99_ms),
    ratioCell(r),
    fmt(r.peak_rss_mb, 0),
    fmt(r.server_cores, 2),
    fmt(r.loadgen_cores, 2),
    fmt(r.other_cores, 2),
    r.steal === null ? 'n/a' : pct(r.steal),
    r.note,
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const numeric = new Set([2, 3, 4, 5, 7, 8, 9, 10, 11]);
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/**
 * One row per `peer` case and round: the project (and, where measured, the project with lean
 * encoders) against ipx, rate and CPU per image.
 */
export function renderPeerTable(runs: readonly RunFigures[]): string {
  const rows: string[][] = [];
  const perSide = (pick: (side: PeerSide) => string, c: PeerCase) => [c.project, ...(c.lean ? [c.lean] : []), c.ipx].map(pick).join(' / ');
  for (const run of runs.filter((r) => r.name === 'peer')) {
    const cases = (run.extra['cases'] ?? []) as unknown as readonly PeerCase[];
    for (const c of cases) {
      rows.push([
        c.name,
        String(run.round),
        `${fmt(c.project.rps, 1)}/s`,
        c.lean ? `${fmt(c.lean.rps, 1)}/s` : '-',
        `${fmt(c.ipx.rps, 1)}/s`,
        `${fmt(c.ratio, 2)}x`,
        c.lean ? `${fmt(c.lean_ratio, 2)}x` : '-',
        perSide((s) => fmt(s.cores, 2), c),
        perSide((s) => fmt(s.cpu_ms_per_image, 0), c),
        perSide((s) => fmt(s.p99_ms, 0), c),
        perSide((s) => fmt(s.mean_kib, 1), c),
        `${fmt(c.project.rss_mb, 0)} (${fmt(c.project.peak_rss_so_far_mb, 0)}) / ${fmt(c.ipx.rss_mb, 0)}`,
      ]);
    }
  }
  if (rows.length === 0) return '';
  const headers = [
    'peer case',
    'round',
    'project',
    'lean',
    'ipx',
    'project/ipx',
    'lean/ipx',
    'server CPU (cores)',
    'CPU ms/image',
    'p99 ms',
    'mean KiB',
    'RSS MB after (peak so far) / ipx',
  ];
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** One case of a `peer` run as the results JSON holds it; `lean` is absent in results written before it was measured. */
interface PeerCase {
  readonly name: string;
  readonly ratio: number | null;
  readonly lean_ratio?: number | null;
  readonly project: PeerSide;
  readonly lean?: PeerSide;
  readonly ipx: PeerSide;
}

interface PeerSide {
  readonly rps: number;
  readonly cores: number | null;
  readonly cpu_ms_per_image: number | null;
  readonly p99_ms: number | null;
  readonly mean_kib: number | null;
  /** Absent in results written before they were recorded. */
  readonly rss_mb?: number | null;
  readonly peak_rss_so_far_mb?: number | null;
}

export function renderTargets(checks: readonly TargetCheck[]): string {
  return checks
    .map((c) => {
      const verdict = c.met === null ? (c.not_judged ?? 'not measured') : c.met ? 'met' : 'MISSED';
      const rounds = c.per_round.length > 1 ? ` (rounds: ${c.per_round.map((v) => fmt(v, 2)).join(', ')})` : '';
      return `  ${c.target.padEnd(46)} ${fmt(c.value, 2).padStart(8)}  ${verdict}${rounds}`;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------------

export interface Results {
  readonly scenarios: readonly ScenarioEntry[];
  readonly targets: readonly TargetCheck[];
  readonly environment: Environment;
  readonly settings: { readonly [key: string]: Json };
  readonly started: string;
  readonly wall_seconds: number;
}

export async function writeResults(file: string, results: Results): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  // JSON has no NaN or Infinity: they become null.
  const replacer = (_key: string, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value);
  await writeFile(file, `${JSON.stringify(results, replacer, 2)}\n`);
}
