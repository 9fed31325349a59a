/**
 * peer: the project against ipx 3.1.1 (bench/ipx-process.ts) on the same images, the same requests
 * and the same concurrency, case by case and interleaved (each case runs on both before the next;
 * which goes first alternates), each server its own process reading originals over HTTP from the
 * storage child's copy server. Every request is a variant nobody made: a distinct width and
 * quality of one original (`fan-out`: a fresh post asked for by every client type), or one
 * variant each of originals nobody fetched (`feed`: a feed of new posts), for WebP, AVIF and JPEG
 * from 0.5, 2 and 12 MP photos. Both run at their own defaults otherwise.
 *
 * A third process, `lean`, is the project with the encoder settings an operator may choose to
 * spend no more encoder CPU than ipx (LEAN_ENCODERS): the same cases beside the other two show
 * how much of the project/ipx ratio is the cost model's encoder choice and how much the rest of
 * the request (fetch, decode, resize, HTTP).
 */
import type { LoadOptions, LoadResult } from '../http-load.js';
import { exchange, runLoad } from '../http-load.js';
import type { BenchImage, ImageKind } from '../images.js';
import { startOriginProcess } from '../origin-process.js';
import { startPeer } from '../peer-process.js';
import { ratio, round, summarizeLatency } from '../stats.js';
import { processMemory } from '../system.js';
import type { ClientKind, ImageRequest } from '../workload.js';
import { CLIENT_TIMEOUT_MS, otherCores } from './common.js';
import type { Json, RunFigures, ScenarioContext } from './types.js';

export type PeerShape = 'fan-out' | 'feed';
export type PeerFormat = 'webp' | 'avif' | 'jpeg';
export interface PeerCase {
  readonly shape: PeerShape;
  readonly format: PeerFormat;
  readonly kind: ImageKind;
}

const SHAPES: readonly PeerShape[] = ['fan-out', 'feed'];
const FORMATS: readonly PeerFormat[] = ['webp', 'avif', 'jpeg'];
const KINDS: readonly ImageKind[] = ['photo-0.5mp', 'photo-2mp', 'photo-12mp'];
const CLIENT: Readonly<Record<PeerFormat, ClientKind>> = { webp: 'webp', avif: 'avif', jpeg: 'legacy' };
/** The connections of the issue's side-by-side measurement: enough to keep both servers' cores busy. */
export const PEER_CONNECTIONS = 8;
/**
 * libjpeg-turbo (the project's `fast`: mozjpeg's table 5, progressive) instead of mozjpeg, and
 * ipx's WebP effort 4 instead of 5; AVIF stays at the project's effort 2, already below ipx's 4.
 */
export const LEAN_ENCODERS: Readonly<Record<string, string>> = { ORIGIN_JPEG_ENCODER: 'fast', ORIGIN_WEBP_EFFORT: '4' };
type SideName = 'project' | 'lean' | 'ipx';
const SIDES: readonly SideName[] = ['project', 'lean', 'ipx'];

/** The feed's one width (the `feed` preset's); fan-out widths are spread below the source's width. */
const FEED_WIDTH = 640;

export function peerCases(tiny: boolean): PeerCase[] {
  if (tiny) return [{ shape: 'fan-out', format: 'webp', kind: 'photo-0.5mp' }, { shape: 'feed', format: 'jpeg', kind: 'photo-0.5mp' }];
  return SHAPES.flatMap((shape) => KINDS.flatMap((kind) => FORMATS.map((format) => ({ shape, format, kind }))));
}

const caseName = (c: PeerCase) => `${c.shape} ${c.kind} ${c.format}`;

interface PeerRequest extends ImageRequest {
  /** The same request in ipx's URL form. */
  readonly ipxPath: string;
}

/**
 * The n-th request of a case: fan-out varies width (300 px up, below the source's width, so
 * neither server enlarges) and then quality over one key; feed asks one width of a new key each
 * time. `id` makes the keys of different cases and rounds distinct.
 */
export function peerRequest(c: PeerCase, image: BenchImage, copyUrl: string, id: number, n: number): PeerRequest {
  const span = Math.max(1, Math.min(500, image.width - 300));
  const [key, w, q] =
    c.shape === 'fan-out'
      ? [`copy/${id}/base/${image.name}`, 300 + (n % span), 60 + (Math.floor(n / span) % 30)]
      : [`copy/${id + n}/base/${image.name}`, Math.min(FEED_WIDTH, image.width), 75];
  return {
    key,
    query: `w=${w}&q=${q}&fm=${c.format}`,
    client: CLIENT[c.format],
    ipxPath: `/w_${w},q_${q},f_${c.format}/${copyUrl}${key}`,
  };
}

interface SideFigures {
  readonly rps: number;
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  readonly cores: number | null;
  /** CPU-milliseconds per image (server CPU over the window ÷ images served in it). */
  readonly cpu_ms_per_image: number | null;
  readonly mean_kib: number | null;
  readonly served: number;
  readonly failed: number;
  readonly degraded: number;
  /** The server's resident memory when the case ended, and its high-water mark so far (MB): where the peak happens. */
  readonly rss_mb: number | null;
  readonly peak_rss_so_far_mb: number | null;
}

/**
 * Rate over the whole run, drain included: the closed loop stops sending at the window's end and
 * waits for what is in flight, so every request sent counts, and a server whose images take
 * longer than the window is not shown as doing nothing. (CPU is measured over the window.)
 */
function sideFigures(load: LoadResult<PeerRequest>, pid: number): SideFigures {
  const served = load.outcomes.filter((o) => o.correct);
  const latency = summarizeLatency(served.map((o) => o.latency));
  const cores = load.cpu.cores['server'] ?? null;
  const elapsedMs = Math.max(load.windowSeconds * 1000, ...load.outcomes.map((o) => o.end));
  const rps = served.length / (elapsedMs / 1000);
  return {
    rps: round(rps, 2),
    p50_ms: latency.p50_ms,
    p99_ms: latency.p99_ms,
    cores: cores === null ? null : round(cores, 2),
    cpu_ms_per_image: cores === null || rps === 0 ? null : round((cores / rps) * 1000, 1),
    mean_kib: served.length === 0 ? null : round(served.reduce((s, o) => s + o.bytes, 0) / served.length / 1024, 1),
    served: served.length,
    failed: load.outcomes.filter((o) => !o.correct).length,
    degraded: served.filter((o) => o.degraded).length,
    ...memoryFigures(pid),
  };
}

function memoryFigures(pid: number): Pick<SideFigures, 'rss_mb' | 'peak_rss_so_far_mb'> {
  const memory = processMemory(pid);
  return { rss_mb: memory ? round(memory.rss / 1e6, 0) : null, peak_rss_so_far_mb: memory ? round(memory.peak / 1e6, 0) : null };
}

interface CaseResult {
  readonly name: string;
  readonly shape: PeerShape;
  readonly project: SideFigures;
  readonly lean: SideFigures;
  readonly ipx: SideFigures;
  /** project / ipx and lean / ipx images per second. */
  readonly ratio: number | null;
  readonly lean_ratio: number | null;
}

export async function runPeer(ctx: ScenarioContext, roundNo: number): Promise<RunFigures> {
  const copyUrl = ctx.storage.copyUrl;
  const images = new Map([...ctx.layout.imageOf.values()].map((image) => [image.kind, image]));
  const cases = peerCases(ctx.options.images === 'tiny');
  const connections = ctx.options.images === 'tiny' ? 2 : PEER_CONNECTIONS;
  const seconds = ctx.options.durations.peer;
  const sourceEnv = { ORIGIN_SOURCE: copyUrl, ORIGIN_HTTP_ALLOW_PRIVATE: 'true' };
  const results: CaseResult[] = [];
  const peakMb: Partial<Record<SideName, number | null>> = {};
  let other: number[] = [];
  // Each process is stopped, last started first, however the run ends, its peak RSS read first.
  const stops: (() => Promise<void>)[] = [];
  const started = <P extends { peakRss(): number | null | Promise<number | null>; stop(): Promise<unknown> }>(side: SideName, server: P): P => {
    stops.push(async () => {
      peakMb[side] = mb(await server.peakRss());
      await server.stop();
    });
    return server;
  };
  try {
    const origin = started('project', await startOriginProcess(ctx.origin, sourceEnv, ctx.children, { role: `origin (peer #${roundNo})` }));
    const lean = started('lean', await startOriginProcess(ctx.origin, { ...sourceEnv, ...LEAN_ENCODERS }, ctx.children, { role: `origin (peer lean #${roundNo})` }));
    const peer = started(
      'ipx',
      await startPeer(ctx.children, { role: `ipx (peer #${roundNo})`, sourceHost: new URL(copyUrl).hostname, jemallocPath: ctx.origin.jemallocPath }),
    );
    const sides: Readonly<Record<SideName, { pid: number; base: string; path: (r: PeerRequest) => string | undefined }>> = {
      project: { pid: origin.pid, base: origin.base, path: () => undefined },
      lean: { pid: lean.pid, base: lean.base, path: () => undefined },
      ipx: { pid: peer.pid, base: peer.base, path: (r) => r.ipxPath },
    };
    /** Load on one server, each request in that server's URL form. */
    const loadOn = (side: SideName, load: Pick<LoadOptions<PeerRequest>, 'schedule' | 'durationSeconds' | 'next' | 'watch' | 'signal'>) =>
      runLoad<PeerRequest>({
        ...load,
        base: sides[side].base,
        exchange: (pool, r) => {
          const path = sides[side].path(r);
          return exchange(pool, r, ctx.degradedCacheControl, { ...(path !== undefined && { path }) });
        },
        timeoutMs: CLIENT_TIMEOUT_MS,
        degradedCacheControl: ctx.degradedCacheControl,
      });
    // Each codec runs once on each server before anything is measured.
    for (const [i, format] of FORMATS.entries()) {
      const image = images.get('photo-0.5mp') as BenchImage;
      const warm = peerRequest({ shape: 'fan-out', format, kind: image.kind }, image, copyUrl, 9_000_000 + i, 0);
      for (const side of SIDES) {
        const load = await loadOn(side, { schedule: { kind: 'closed', concurrency: 1 }, durationSeconds: 0.01, next: () => warm, watch: {} });
        if (!load.outcomes.every((o) => o.correct)) throw new Error(`peer warm-up failed on ${sides[side].base}: ${JSON.stringify(load.outcomes[0])}`);
      }
    }
    for (const [index, c] of cases.entries()) {
      const image = images.get(c.kind);
      if (!image) throw new Error(`no ${c.kind} image`);
      const id = roundNo * 10_000_000 + index * 100_000;
      // Which side goes first rotates from case to case and round to round.
      const first = (roundNo + index) % SIDES.length;
      const order = [...SIDES.slice(first), ...SIDES.slice(0, first)];
      const figures: Partial<Record<SideName, SideFigures>> = {};
      for (const name of order) {
        if (ctx.signal.aborted) throw new Error('interrupted');
        let n = 0;
        const load = await loadOn(name, {
          schedule: { kind: 'closed', concurrency: connections },
          durationSeconds: seconds,
          next: () => peerRequest(c, image, copyUrl, id, n++),
          watch: { loadgen: 'self', server: sides[name].pid, storage: ctx.storage.pid },
          signal: ctx.signal,
        });
        figures[name] = sideFigures(load, sides[name].pid);
        const others = otherCores(load.cpu);
        if (others !== null) other.push(others);
      }
      const { project, lean: leanFigures, ipx } = figures as Record<SideName, SideFigures>;
      const result: CaseResult = {
        name: caseName(c),
        shape: c.shape,
        project,
        lean: leanFigures,
        ipx,
        ratio: finiteRatio(project.rps, ipx.rps),
        lean_ratio: finiteRatio(leanFigures.rps, ipx.rps),
      };
      results.push(result);
      ctx.log(
        `  ${result.name}: project ${project.rps}/s (${project.cores} cores), lean ${leanFigures.rps}/s, ipx ${ipx.rps}/s (${ipx.cores} cores): ${result.ratio}x, lean ${result.lean_ratio}x`,
      );
    }
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
  const minRatio = (shape: PeerShape, of: 'ratio' | 'lean_ratio') => {
    const ratios = results.filter((r) => r.shape === shape).map((r) => r[of]);
    return ratios.some((r) => r === null) || ratios.length === 0 ? null : Math.min(...(ratios as number[]));
  };
  other = other.sort((a, b) => a - b);
  return {
    name: 'peer',
    round: roundNo,
    rps: null,
    p50_ms: null,
    p95_ms: null,
    p99_ms: null,
    requests: results.reduce((s, r) => s + r.project.served + r.lean.served + r.ipx.served, 0),
    seconds: seconds * SIDES.length * cases.length,
    // The memory target is the shipped configuration's; the lean process is reported beside it.
    peak_rss_mb: peakMb.project ?? null,
    server_cores: null,
    loadgen_cores: null,
    storage_cores: null,
    other_cores: other.length === 0 ? null : (other[Math.floor(other.length / 2)] ?? null),
    steal: null,
    note:
      `${cases.length} cases x ${seconds} s per server, ${connections} connections; min fan-out ${minRatio('fan-out', 'ratio')}x, ` +
      `min feed ${minRatio('feed', 'ratio')}x ipx (lean encoders: ${minRatio('fan-out', 'lean_ratio')}x, ${minRatio('feed', 'lean_ratio')}x)`,
    extra: {
      fanout_min_ratio: minRatio('fan-out', 'ratio'),
      feed_min_ratio: minRatio('feed', 'ratio'),
      lean_fanout_min_ratio: minRatio('fan-out', 'lean_ratio'),
      lean_feed_min_ratio: minRatio('feed', 'lean_ratio'),
      lean_encoders: LEAN_ENCODERS,
      lean_peak_rss_mb: peakMb.lean ?? null,
      ipx_peak_rss_mb: peakMb.ipx ?? null,
      connections,
      cases: results as unknown as Json,
    },
  };
}

const mb = (bytes: number | null) => (bytes === null ? null : round(bytes / 1e6, 0));

function finiteRatio(a: number, b: number): number | null {
  const r = ratio(a, b);
  return Number.isFinite(r) ? round(r, 2) : null;
}
