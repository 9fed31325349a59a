/**
 * The benchmark as a function: builds the image set, starts the storage child, runs the selected
 * scenarios round after round (odd rounds in order, even rounds reversed, so slow drift in the
 * machine does not always favour the same scenario), and returns the results. Whatever happens,
 * every child process is stopped and the temporary folder removed before it returns or throws.
 * `bench/run.ts` is the command line around it; `test/bench.test.ts` runs it on a tiny workload.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_TRANSFORM_CONCURRENCY } from '../origin/config.js';
import { PROJECT_ROOT } from '../support/paths.js';
import { createChildRegistry, type ChildRecord } from './children.js';
import { chooseAllocator, chooseTool, describeEnvironment } from './environment.js';
import type { LoadTool } from './fixed-load.js';
import { buildBadFiles, buildImageSet, layoutBucket } from './images.js';
import { ONCE, SCENARIOS, type BenchOptions, type ScenarioName } from './options.js';
import { closeProbeAgent, type OriginSettings } from './origin-process.js';
import { checkTargets, renderPeerTable, renderTable, renderTargets, scenarioEntries, withRatios, writeResults, type Results } from './report.js';
import { runBytes } from './scenarios/bytes.js';
import { runCold } from './scenarios/cold.js';
import { runColdstart } from './scenarios/coldstart.js';
import { runHot } from './scenarios/hot.js';
import { runLimit } from './scenarios/limit.js';
import { runOverload } from './scenarios/overload.js';
import { runPeer } from './scenarios/peer.js';
import { runRestart } from './scenarios/restart.js';
import { runUpload } from './scenarios/upload.js';
import { runSocial } from './scenarios/social.js';
import { runSoak, SOAK_ORIGIN_ENV, SOAK_RATE, SOAK_STORAGE_FAULTS, SOAK_WARMUP_SHARE } from './scenarios/soak.js';
import type { Calibration, RunFigures, Scenario, ScenarioContext } from './scenarios/types.js';
import { startStorage } from './storage.js';
import { BAD_PATHS, BAD_QUERIES, CLIENT_WEIGHTS, PRESET_WEIGHTS, PRESETS, presetQuery, SOAK_MIX } from './workload.js';

const RUNNERS: Readonly<Record<ScenarioName, Scenario>> = {
  limit: runLimit,
  cold: runCold,
  hot: runHot,
  social: runSocial,
  overload: runOverload,
  coldstart: runColdstart,
  peer: runPeer,
  restart: runRestart,
  upload: runUpload,
  soak: runSoak,
  bytes: runBytes,
};

/** The origin's settings for every run; the rest are its defaults (README: "Configuration"). */
const DEGRADED_CACHE_CONTROL = 'public, max-age=60';
const ORIGIN_ENV: Readonly<Record<string, string>> = {
  // Longer than a full run, so originals warmed at a scenario's start stay cached to its end.
  ORIGIN_CACHE_TTL_SECONDS: '3600',
  // Its default, set explicitly because degraded answers are recognised by it.
  ORIGIN_DEGRADED_CACHE_CONTROL: DEGRADED_CACHE_CONTROL,
};

export interface BenchIo {
  /** Progress lines; silent when omitted. */
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface BenchRun {
  readonly results: Results;
  readonly file: string;
  readonly table: string;
  /** The `peer` cases, project against ipx ('' when peer did not run). */
  readonly peerTable: string;
  readonly targets: string;
  /** Every child process started, with how it exited. */
  readonly processes: readonly ChildRecord[];
  /** The temporary folder used (removed by the time this returns). */
  readonly tmpDir: string;
  /** The origin's allocator, and whether a preloaded one was seen mapped in every origin (null: glibc or unknown). */
  readonly allocator: { readonly name: string; readonly mapped: boolean | null };
  readonly tool: LoadTool;
}

export function defaultResultsFile(options: BenchOptions, date = new Date()): string {
  const day = date.toISOString().slice(0, 10);
  const suffix = options.mode === 'full' ? '' : `-${options.mode}`;
  return path.join(PROJECT_ROOT, 'bench', 'results', `${day}-${os.hostname()}${suffix}.json`);
}

/**
 * `limit, cold, overload, cold, limit`, run as one unit in that order: raw sharp brackets the cold
 * runs and the cold runs bracket overload, and each ratio is to the mean of the runs on both sides
 * of it, so a host whose speed drifts over those minutes moves both sides alike. The second cold
 * run is there only for overload, the second limit only for cold.
 */
function capacityUnit(wanted: ReadonlySet<ScenarioName>): ScenarioName[] {
  const limit: ScenarioName[] = wanted.has('limit') ? ['limit'] : [];
  if (!wanted.has('cold')) return limit;
  const overload: ScenarioName[] = wanted.has('overload') ? ['overload', 'cold'] : [];
  return [...limit, 'cold', ...overload, ...limit];
}

/**
 * Scenario order of one round, reversed in even rounds except the capacity unit, which keeps its
 * order; `social`, `overload` and `upload` are offered rates relative to the latest cold run, so
 * one runs before them in every round; `soak` runs in round 1 only.
 */
export function roundOrder(selected: readonly ScenarioName[], roundNo: number): ScenarioName[] {
  const wanted = new Set(selected.filter((s) => roundNo === 1 || !ONCE.has(s)));
  if (wanted.has('social') || wanted.has('overload') || wanted.has('upload')) wanted.add('cold');
  const capacity = capacityUnit(wanted);
  const rest = SCENARIOS.filter((s) => wanted.has(s) && !capacity.includes(s)).map((s) => [s]);
  const units = capacity.length > 0 ? [capacity, ...rest] : rest;
  return (roundNo % 2 === 1 ? units : units.reverse()).flat();
}

export async function runBenchmark(options: BenchOptions, io: BenchIo = {}): Promise<BenchRun> {
  const log = io.log ?? (() => undefined);
  const signal = io.signal ?? new AbortController().signal;
  const startedAt = new Date();
  const t0 = performance.now();
  const environment = describeEnvironment(options.node);
  const allocator = chooseAllocator(options.allocator);
  const { tool, why: toolWhy } = chooseTool(options.tool);
  const file = options.out ?? defaultResultsFile(options, startedAt);
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'image-origin-bench-'));
  const children = createChildRegistry();
  const runs: RunFigures[] = [];
  const allocatorSeen: (boolean | null)[] = [];
  let calibration: Calibration | undefined;
  let imageSet: { kind: string; description: string; width: number; height: number; bytes: number }[] = [];
  let layoutDescriptions: { key: string; description: string }[] = [];

  log(`image-origin benchmark (${options.mode}): node ${environment.node}${environment.origin_node === environment.node ? '' : ` (origin on ${environment.origin_node})`}, sharp ${environment.sharp}, libvips ${environment.libvips}`);
  log(`cpu: ${environment.cpu_model} x ${environment.cores} (available ${environment.available_parallelism}), ${environment.memory_gib} GiB, host ${environment.host}`);
  log(`origin allocator: ${allocator.name} (${allocator.why}); hot load tool: ${tool} (${toolWhy})`);

  const origin: OriginSettings = {
    node: options.node ?? process.execPath,
    transformConcurrency: DEFAULT_TRANSFORM_CONCURRENCY,
    jemallocPath: allocator.path,
    env: ORIGIN_ENV,
  };
  try {
    const images = await buildImageSet(options.images);
    const badFiles = await buildBadFiles();
    const layout = layoutBucket(images, options.socialKeys, badFiles);
    layoutDescriptions = badFiles.map((f) => ({ key: f.key, description: f.description }));
    imageSet = images.map((i) => ({ kind: i.kind, description: i.description, width: i.width, height: i.height, bytes: i.bytes.byteLength }));
    log(`images: ${images.map((i) => `${i.kind} ${i.width}x${i.height} ${Math.round(i.bytes.byteLength / 1024)} KiB`).join(', ')}`);
    const storage = await startStorage(layout, children, tmpDir, SOAK_STORAGE_FAULTS);
    log(`storage: s3rver child (pid ${storage.pid}) holding ${layout.objects.size} objects, and the failing proxy for soak`);

    const profile =
      options.profile.length > 0
        ? {
            scenarios: new Set<ScenarioName>(options.profile),
            dir: path.join(tmpDir, 'cpu-profile'),
            out: (scenario: ScenarioName) => `${file.replace(/\.json$/, '')}-${scenario}.cpuprofile`,
          }
        : undefined;
    const ctx: ScenarioContext = {
      options,
      origin,
      storage,
      layout,
      children,
      tmpDir,
      tool,
      degradedCacheControl: DEGRADED_CACHE_CONTROL,
      profile,
      calibration: () => {
        if (!calibration) throw new Error('no cold run to calibrate the offered load against');
        return calibration;
      },
      observeAllocator: (loaded) => void allocatorSeen.push(loaded),
      signal,
      log,
    };

    for (let roundNo = 1; roundNo <= options.rounds; roundNo++) {
      for (const name of roundOrder(options.scenarios, roundNo)) {
        if (signal.aborted) throw new Error('interrupted');
        const started = performance.now();
        log(`round ${roundNo}: ${name} …`);
        const run = await RUNNERS[name](ctx, roundNo);
        runs.push(run);
        if (name === 'cold') calibration = { coldRps: run.rps ?? 1 };
        log(`round ${roundNo}: ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${run.note}`);
      }
    }
  } finally {
    await children.stopAll();
    await closeProbeAgent();
    await rm(tmpDir, { recursive: true, force: true });
  }

  const measured = withRatios(runs);
  const entries = scenarioEntries(measured, SCENARIOS);
  const targets = checkTargets(entries, measured);
  const loaded = allocatorSeen.filter((v) => v !== null);
  // Unknown (null) when no origin was looked at, rather than reported as failed.
  const mapped = allocator.path === undefined || loaded.length === 0 ? null : loaded.every(Boolean);
  const results: Results = {
    scenarios: entries,
    targets,
    environment: { ...environment },
    settings: {
      mode: options.mode,
      rounds: options.rounds,
      durations_s: { ...options.durations },
      origin_env: { ...ORIGIN_ENV, ORIGIN_TRANSFORM_CONCURRENCY: String(origin.transformConcurrency), LOG_LEVEL: 'warn' },
      allocator: {
        name: allocator.name,
        path: allocator.path ?? null,
        why: allocator.why,
        verified_mapped: mapped,
      },
      hot_tool: { tool, why: toolWhy, connections: options.hotConnections },
      images: imageSet,
      social_keys: options.socialKeys,
      presets: { ...PRESETS },
      preset_request: presetQuery('feed'),
      soak: {
        offered_rps: SOAK_RATE,
        mix: { ...SOAK_MIX },
        warmup_share: SOAK_WARMUP_SHARE,
        origin_env: { ...SOAK_ORIGIN_ENV },
        storage_faults: { ...SOAK_STORAGE_FAULTS },
        bad_queries: [...BAD_QUERIES],
        bad_paths: BAD_PATHS.map((p) => p.path),
        bad_files: layoutDescriptions,
      },
      preset_weights: { ...PRESET_WEIGHTS },
      client_weights: { ...CLIENT_WEIGHTS },
      cpu_profiles: runs.flatMap((r) => {
        const saved = r.extra['profile'] as { readonly path?: unknown } | null | undefined;
        return typeof saved?.path === 'string' ? [saved.path] : [];
      }),
    },
    started: startedAt.toISOString(),
    wall_seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
  await writeResults(file, results);
  return {
    results,
    file,
    table: renderTable(measured),
    peerTable: renderPeerTable(measured),
    targets: renderTargets(targets),
    processes: children.records,
    tmpDir,
    allocator: { name: allocator.name, mapped },
    tool,
  };
}
