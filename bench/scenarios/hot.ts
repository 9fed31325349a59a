/**
 * hot: cache hits. A set of preset variants is made once, then requested over and over: half plain
 * GETs served from the variant tier (200 with the bytes), half revalidations carrying the ETag
 * (304). The same requests then go to a bare fastify server that holds the origin's exact
 * responses in memory: the HTTP ceiling of this machine. Same load tool, connections and time.
 */
import { startBareServer } from '../bare-reference.js';
import type { BareEntry } from '../bare-server.js';
import { runFixedLoad, type FixedLoadResult, type FixedRequest } from '../fixed-load.js';
import { probe } from '../origin-process.js';
import { ratio, round } from '../stats.js';
import { cpuWindow } from '../system.js';
import { ACCEPT, presetQuery, requestPath, type ClientKind, type PresetName } from '../workload.js';
import { otherCores, profileFigures, withOrigin } from './common.js';
import type { RunFigures, ScenarioContext } from './types.js';

/** `full` is left out: its 2048-pixel answers would make this a bandwidth test rather than a hit-path one. */
const HOT_PRESETS: readonly PresetName[] = ['thumb', 'avatar', 'feed'];
const HOT_CLIENTS: readonly ClientKind[] = ['avif', 'webp'];

/** Headers that describe the connection or the moment, not the response. */
const HOP_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

interface Measured {
  readonly load: FixedLoadResult;
  readonly serverCores: number | null;
  readonly otherCores: number | null;
  readonly steal: number | null;
}

export async function runHot(ctx: ScenarioContext, roundNo: number): Promise<RunFigures> {
  const entries: BareEntry[] = [];
  const run = await withOrigin(ctx, { name: 'hot', round: roundNo }, async (origin) => {
    for (const key of ctx.layout.baseKeys) {
      for (const preset of HOT_PRESETS) {
        for (const client of HOT_CLIENTS) {
          const path = requestPath({ key, query: presetQuery(preset) });
          const accept = ACCEPT[client];
          const url = `${origin.base}${path}`;
          const made = await probe(url, { accept });
          if (made?.status !== 200) throw new Error(`hot: ${path} answered ${made?.status ?? 'nothing'}`);
          entries.push({ path, accept, ...(await capture(url, accept)) });
        }
      }
    }
    return measure(ctx, origin.base, origin.pid, requestsFor(entries));
  });

  const bare = await startBareServer(entries, ctx.children);
  let reference: Measured;
  try {
    reference = await measure(ctx, bare.base, bare.pid, requestsFor(entries));
  } finally {
    await bare.close();
  }

  const { load } = run.value;
  const answered = Object.values(load.statuses).reduce((a, b) => a + b, 0);
  const unexpected = answered - (load.statuses['200'] ?? 0) - (load.statuses['304'] ?? 0);
  return {
    name: 'hot',
    round: roundNo,
    rps: round(load.rps, 0),
    p50_ms: round(load.p50_ms, 2),
    p95_ms: load.p95_ms === null ? null : round(load.p95_ms, 2),
    p99_ms: round(load.p99_ms, 2),
    requests: answered,
    seconds: ctx.options.durations.hot,
    peak_rss_mb: run.peakRssMb,
    server_cores: run.value.serverCores,
    loadgen_cores: load.loadgenCores === null ? null : round(load.loadgenCores, 2),
    storage_cores: null,
    other_cores: run.value.otherCores,
    steal: run.value.steal,
    note:
      `${load.tool} c${ctx.options.hotConnections}, ${entries.length} variants, ${Math.round(share304(load) * 100)}% 304; ` +
      `bare fastify ${Math.round(reference.load.rps)}/s, p99 ${reference.load.p99_ms.toFixed(1)} ms, ` +
      `server CPU ${reference.serverCores?.toFixed(2) ?? 'n/a'}, loadgen CPU ${reference.load.loadgenCores?.toFixed(2) ?? 'n/a'}`,
    extra: {
      tool: load.tool,
      connections: ctx.options.hotConnections,
      variants: entries.length,
      avg_body_bytes: Math.round(entries.reduce((s, e) => s + e.body.byteLength, 0) / Math.max(1, entries.length)),
      statuses: load.statuses,
      share_304: round(share304(load), 3),
      unexpected_statuses: unexpected,
      errors: load.errors,
      timeouts: load.timeouts,
      ratio_to_bare: round(ratio(load.rps, reference.load.rps), 3),
      bare: {
        rps: round(reference.load.rps, 0),
        p50_ms: round(reference.load.p50_ms, 2),
        p95_ms: reference.load.p95_ms === null ? null : round(reference.load.p95_ms, 2),
        p99_ms: round(reference.load.p99_ms, 2),
        statuses: reference.load.statuses,
        errors: reference.load.errors,
        server_cores: reference.serverCores,
        other_cores: reference.otherCores,
        loadgen_cores: reference.load.loadgenCores === null ? null : round(reference.load.loadgenCores, 2),
        steal: reference.steal,
      },
      origin_exit_code: run.exit.exitCode,
      profile: profileFigures(run.profile),
    },
  };
}

/** A second request is a variant-tier hit: its headers are what every hot answer carries. */
async function capture(url: string, accept: string): Promise<Pick<BareEntry, 'body' | 'headers'>> {
  const res = await probe(url, { accept });
  if (res?.status !== 200) throw new Error(`hot: ${url} answered ${res?.status ?? 'nothing'} when hit`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined && !HOP_HEADERS.has(name)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { body: res.body, headers };
}

function requestsFor(entries: readonly BareEntry[]): FixedRequest[] {
  return entries.flatMap((e): FixedRequest[] => [
    { path: e.path, headers: { accept: e.accept } },
    { path: e.path, headers: { accept: e.accept, 'if-none-match': e.headers['etag'] ?? '' } },
  ]);
}

async function measure(ctx: ScenarioContext, base: string, pid: number, requests: FixedRequest[]): Promise<Measured> {
  const cpu = cpuWindow({ server: pid });
  const load = await runFixedLoad(ctx.tool, {
    base,
    requests,
    connections: ctx.options.hotConnections,
    durationSeconds: ctx.options.durations.hot,
    tmpDir: ctx.tmpDir,
    children: ctx.children,
  });
  const used = cpu.stop();
  const server = used.cores['server'];
  return {
    load,
    serverCores: server === null || server === undefined ? null : round(server, 2),
    // The load tool is not among the watched processes; its CPU is its own figure.
    otherCores: otherCores(used, load.loadgenCores ?? 0),
    steal: used.steal === null ? null : round(used.steal, 3),
  };
}

function share304(load: FixedLoadResult): number {
  const answered = Object.values(load.statuses).reduce((a, b) => a + b, 0);
  return answered > 0 ? (load.statuses['304'] ?? 0) / answered : 0;
}
