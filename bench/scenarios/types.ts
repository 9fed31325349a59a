/** What every scenario gets (the run's shared parts) and what each of its runs returns. */
import type { ChildRegistry } from '../children.js';
import type { LoadTool } from '../fixed-load.js';
import type { BucketLayout } from '../images.js';
import type { BenchOptions, ScenarioName } from '../options.js';
import type { OriginSettings } from '../origin-process.js';
import type { Storage } from '../storage.js';

export type Json = number | string | boolean | null | readonly Json[] | { readonly [key: string]: Json };

/** Set by each cold run: the offered load of `social`, `overload` and `upload` is relative to the latest. */
export interface Calibration {
  readonly coldRps: number;
}

export interface ScenarioContext {
  readonly options: BenchOptions;
  readonly origin: OriginSettings;
  readonly storage: Storage;
  readonly layout: BucketLayout;
  readonly children: ChildRegistry;
  /** Removed at the end of the run. */
  readonly tmpDir: string;
  readonly tool: LoadTool;
  /** Cache-Control the origin puts on degraded answers (the benchmark sets it, to recognise them). */
  readonly degradedCacheControl: string;
  /**
   * With `--profile`: the scenarios to profile, the folder a profiled origin writes into
   * (`--cpu-prof-dir`), and where each checked profile is moved.
   */
  readonly profile:
    | { readonly scenarios: ReadonlySet<ScenarioName>; readonly dir: string; readonly out: (scenario: ScenarioName) => string }
    | undefined;
  readonly calibration: () => Calibration;
  /** Told after each origin run whether the preloaded allocator was really mapped (null: unknown). */
  readonly observeAllocator: (loaded: boolean | null) => void;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
}

/** One run of one scenario. Numbers are null where they do not apply or could not be measured. */
export interface RunFigures {
  readonly name: ScenarioName;
  readonly round: number;
  /** Images per second (limit), else answered requests per second of the kind the scenario counts. */
  readonly rps: number | null;
  readonly p50_ms: number | null;
  readonly p95_ms: number | null;
  readonly p99_ms: number | null;
  /** Requests (or images) the figures are computed from. */
  readonly requests: number;
  readonly seconds: number;
  /** Peak resident memory of the origin process over the run, MB (10^6 bytes, as the target is stated). */
  readonly peak_rss_mb: number | null;
  /** CPU of whatever does the work (the origin; the benchmark process itself for limit), in cores. */
  readonly server_cores: number | null;
  /** CPU of the load generator, in cores (1 = one core busy all the time). */
  readonly loadgen_cores: number | null;
  readonly storage_cores: number | null;
  /**
   * CPU used by everything else on the machine during the run (other jobs, the kernel, the idle
   * origin of a previous step…), in cores: what may have competed with the figures.
   */
  readonly other_cores: number | null;
  /** Share of the machine's CPU time stolen by the hypervisor during the run. */
  readonly steal: number | null;
  /** Short human summary for the table. */
  readonly note: string;
  /** Scenario-specific figures (ratios, shares, error counts, …). */
  readonly extra: { readonly [key: string]: Json };
}

/** The CPU columns of a scenario that does not measure CPU (its work is spread over several processes or steps). */
export const NO_CPU_FIGURES = { server_cores: null, loadgen_cores: null, storage_cores: null, other_cores: null, steal: null } as const;

export type Scenario = (ctx: ScenarioContext, round: number) => Promise<RunFigures>;
