/**
 * Command-line options and the three run profiles: `full` (each scenario twice, interleaved,
 * about 5 minutes, plus the 10-minute soak once), `quick` (a smoke run of about a minute and a
 * half, 30 s of it the soak) and `tiny` (the plumbing test: a few requests per scenario on small
 * images).
 */
export type ScenarioName = 'limit' | 'cold' | 'hot' | 'social' | 'overload' | 'coldstart' | 'peer' | 'restart' | 'upload' | 'soak' | 'bytes';
/**
 * In the order they run, reversed in even rounds except `limit, cold, overload, cold, limit`, which
 * runs as one unit in that order (`benchmark.ts` roundOrder): each ratio is to the mean of the runs
 * on both sides of it, so on a host whose speed drifts over minutes both sides see the same host.
 */
export const SCENARIOS: readonly ScenarioName[] = ['limit', 'cold', 'overload', 'hot', 'social', 'coldstart', 'peer', 'restart', 'upload', 'soak', 'bytes'];
/** Scenarios run in the first round only, whatever `--rounds` says: one 10-minute soak is enough. */
export const ONCE: ReadonlySet<ScenarioName> = new Set(['soak', 'bytes']);

export type Mode = 'full' | 'quick' | 'tiny';
/** Scenarios with an origin under load to profile. */
export type ProfiledScenario = 'cold' | 'hot' | 'social' | 'overload' | 'soak';
const PROFILABLE: readonly ProfiledScenario[] = ['cold', 'hot', 'social', 'overload', 'soak'];
export type AllocatorChoice = 'auto' | 'glibc' | 'jemalloc';
export type ToolChoice = 'auto' | 'wrk' | 'autocannon';

export interface Durations {
  /** Seconds of measurement per run (warm-up not included). */
  readonly limit: number;
  readonly cold: number;
  /** Per server: the origin, then the bare reference for the same time. */
  readonly hot: number;
  readonly social: number;
  readonly overload: number;
  /** Per case and server (`peer` runs 18 cases on the project and on ipx). */
  readonly peer: number;
  /** The whole soak, warm-up (its first fifth) included; run in round 1 only. */
  readonly soak: number;
}

export interface BenchOptions {
  readonly mode: Mode;
  readonly rounds: number;
  readonly durations: Durations;
  /** Processes spawned per cold-start run. */
  readonly coldstartRuns: number;
  /** Distinct keys for `social`. */
  readonly socialKeys: number;
  readonly images: 'full' | 'tiny';
  /** Connections of the hot load generator. */
  readonly hotConnections: number;
  readonly scenarios: readonly ScenarioName[];
  /** Scenarios whose first run's origin is CPU-profiled (`--profile`: cold). */
  readonly profile: readonly ProfiledScenario[];
  readonly allocator: AllocatorChoice;
  readonly tool: ToolChoice;
  /** The Node.js binary the origin processes run on (`--node`; default: the one running the benchmark). */
  readonly node?: string;
  /** Results JSON path; default bench/results/<date>-<host>[-quick].json. */
  readonly out?: string;
}

const PROFILES: Readonly<Record<Mode, Omit<BenchOptions, 'scenarios' | 'profile' | 'allocator' | 'tool'>>> = {
  full: {
    mode: 'full',
    rounds: 2,
    durations: { limit: 25, cold: 25, hot: 10, social: 45, overload: 25, peer: 6, soak: 600 },
    coldstartRuns: 5,
    socialKeys: 200,
    images: 'full',
    hotConnections: 32,
  },
  quick: {
    mode: 'quick',
    rounds: 1,
    durations: { limit: 5, cold: 5, hot: 2, social: 8, overload: 5, peer: 1.5, soak: 30 },
    coldstartRuns: 2,
    socialKeys: 40,
    images: 'full',
    hotConnections: 32,
  },
  tiny: {
    mode: 'tiny',
    rounds: 1,
    durations: { limit: 0.5, cold: 1.5, hot: 0.5, social: 1.5, overload: 0.5, peer: 0.5, soak: 3 },
    coldstartRuns: 1,
    socialKeys: 8,
    images: 'tiny',
    hotConnections: 8,
  },
};

export function benchOptions(mode: Mode, overrides: Partial<BenchOptions> = {}): BenchOptions {
  return { ...PROFILES[mode], scenarios: SCENARIOS, profile: [], allocator: 'auto', tool: 'auto', ...overrides };
}

export const USAGE = `usage: npm run bench -- [options]
  --quick               smoke run: one round, short scenarios (about 90 s, 30 s of it soak)
  --tiny                plumbing check on tiny images (seconds; what test/bench.test.ts runs)
  --rounds <n>          rounds of every scenario, interleaved (full: 2); soak runs in round 1 only
  --only <a,b>          scenarios to run: ${SCENARIOS.join(',')}
  --profile[=<a,b>]     write a V8 CPU profile of the origin during the first run of these
                        scenarios (${PROFILABLE.join(', ')}); default cold
  --allocator <a>       auto (jemalloc when installed, as the Docker image), glibc or jemalloc
  --tool <t>            hot load generator: auto (wrk when installed), wrk or autocannon
  --node <path>         run the origin processes on this Node.js binary (e.g. the Docker image's
                        version, to measure its start-up); everything else stays on this one
  --out <file>          results JSON (default bench/results/<date>-<host>.json)`;

export function parseArgs(argv: readonly string[]): BenchOptions | 'help' {
  let mode: Mode = 'full';
  const overrides: { -readonly [K in keyof BenchOptions]?: BenchOptions[K] } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? (arg.split(/=(.*)/s) as [string, string]) : [arg, undefined];
    const value = (): string => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--quick':
        mode = 'quick';
        break;
      case '--tiny':
        mode = 'tiny';
        break;
      case '--rounds': {
        const rounds = Number(value());
        if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
        overrides.rounds = rounds;
        break;
      }
      case '--only': {
        const names = value().split(',').map((s) => s.trim());
        const unknown = names.filter((n) => !SCENARIOS.includes(n as ScenarioName));
        if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}`);
        overrides.scenarios = SCENARIOS.filter((s) => names.includes(s));
        break;
      }
      case '--profile': {
        // The value is optional, so only the inline form (--profile=hot) takes one.
        const names = (inline ?? 'cold').split(',').map((n) => oneOf(n.trim(), PROFILABLE, flag));
        overrides.profile = names;
        break;
      }
      case '--allocator':
        overrides.allocator = oneOf(value(), ['auto', 'glibc', 'jemalloc'] as const, flag);
        break;
      case '--tool':
        overrides.tool = oneOf(value(), ['auto', 'wrk', 'autocannon'] as const, flag);
        break;
      case '--node':
        overrides.node = value();
        break;
      case '--out':
        overrides.out = value();
        break;
      case '--help':
      case '-h':
        return 'help';
      default:
        throw new Error(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  return benchOptions(mode, overrides);
}

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`${flag} must be one of ${allowed.join(', ')}`);
  return value as T;
}
