/**
 * The load driver for the image scenarios (cold, social, overload): undici over keep-alive
 * loopback connections, one outcome recorded per request with its status, latency, error kind
 * and whether the body is a correct image. Image requests cost the origin milliseconds, so a few
 * hundred requests per second are plenty and one thread keeps up (its CPU is reported).
 *
 * Closed loop: `concurrency` clients, each sending its next request when the last is answered.
 * Open loop: arrivals at a given rate (Poisson, seeded) whether or not earlier ones are answered,
 * as a CDN's misses arrive; latency counts from when a request was due, so a slow server cannot
 * hide its queueing by slowing the generator down (coordinated omission).
 */
import { Pool } from 'undici';
import { cpuWindow, type CpuWindowResult } from './system.js';
import { ACCEPTABLE_TYPES, requestHeaders, requestPath, seededRandom, type ImageRequest } from './workload.js';

export type Schedule =
  | { readonly kind: 'closed'; readonly concurrency: number }
  | { readonly kind: 'open'; readonly rate: (elapsedSeconds: number) => number; readonly seed?: number };

export type ErrorKind = 'reset' | 'timeout' | 'other';

export interface Outcome {
  readonly request: ImageRequest;
  /** Milliseconds from the start: when the request was due (open loop) or sent (closed loop). */
  readonly due: number;
  readonly end: number;
  readonly latency: number;
  /** 0 when there was no HTTP answer. */
  readonly status: number;
  readonly error?: ErrorKind;
  readonly errorMessage?: string;
  readonly contentType?: string;
  readonly etag?: string;
  readonly bytes: number;
  /** A 200 whose body is an image of a type this client accepts, as long as announced. */
  readonly correct: boolean;
  /** A 200 made the cheap way under pressure (recognised by its short Cache-Control). */
  readonly degraded: boolean;
}

export interface LoadOptions {
  readonly base: string;
  readonly schedule: Schedule;
  readonly durationSeconds: number;
  readonly next: (elapsedSeconds: number) => ImageRequest;
  readonly onOutcome?: (outcome: Outcome) => void;
  /** Open loop: arrivals beyond this many unanswered requests are not sent, and counted. */
  readonly maxInFlight?: number;
  /** Client-side timeout (headers and body), milliseconds. */
  readonly timeoutMs: number;
  readonly degradedCacheControl: string;
  /** Processes whose CPU is measured over the window (`self` = this process). */
  readonly watch: Readonly<Record<string, number | 'self'>>;
  readonly signal?: AbortSignal;
}

export interface LoadResult {
  readonly outcomes: readonly Outcome[];
  readonly windowSeconds: number;
  /** Open-loop arrivals dropped because `maxInFlight` requests were unanswered. */
  readonly notSent: number;
  readonly cpu: CpuWindowResult;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { schedule } = options;
  const connections = schedule.kind === 'closed' ? schedule.concurrency : (options.maxInFlight ?? 512);
  const pool = new Pool(options.base, {
    connections,
    pipelining: 1,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    keepAliveTimeout: 60_000,
  });
  const outcomes: Outcome[] = [];
  const windowMs = options.durationSeconds * 1000;
  const inFlight = new Set<Promise<void>>();
  let notSent = 0;
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const cpu = cpuWindow(options.watch);

  const send = (request: ImageRequest, due: number): Promise<void> => {
    const task = exchange(pool, request, options.degradedCacheControl).then((answer) => {
      const end = elapsed();
      const outcome: Outcome = { request, due, end, latency: end - due, ...answer };
      outcomes.push(outcome);
      options.onOutcome?.(outcome);
    });
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
    return task;
  };
  const stopped = () => options.signal?.aborted === true;

  if (schedule.kind === 'closed') {
    const client = async () => {
      while (!stopped() && elapsed() < windowMs) {
        const due = elapsed();
        await send(options.next(due / 1000), due);
      }
    };
    await Promise.all(Array.from({ length: schedule.concurrency }, client));
  } else {
    const random = seededRandom(schedule.seed ?? 7);
    const maxInFlight = options.maxInFlight ?? 512;
    // Exponential gaps: Poisson arrivals at the rate in force when the previous one arrived.
    const gap = (at: number) => {
      const rate = schedule.rate(at / 1000);
      return rate > 0 ? (-Math.log(1 - random()) / rate) * 1000 : windowMs;
    };
    let due = gap(0);
    while (!stopped() && due < windowMs) {
      const now = elapsed();
      if (due > now) {
        await sleep(Math.min(due - now, 50));
        continue;
      }
      // Catch up with every arrival that fell due while we slept.
      for (; due <= now && due < windowMs; due += gap(due)) {
        if (inFlight.size >= maxInFlight) notSent++;
        else void send(options.next(due / 1000), due);
      }
    }
  }
  const cpuResult = cpu.stop();
  while (inFlight.size > 0) await Promise.race(inFlight);
  await pool.close();
  return { outcomes, windowSeconds: options.durationSeconds, notSent, cpu: cpuResult };
}

type Answer = Omit<Outcome, 'request' | 'due' | 'end' | 'latency'>;

async function exchange(pool: Pool, request: ImageRequest, degradedCacheControl: string): Promise<Answer> {
  try {
    const res = await pool.request({ path: requestPath(request), method: 'GET', headers: requestHeaders(request) });
    const body = Buffer.from(await res.body.arrayBuffer());
    const contentType = header(res.headers['content-type']);
    const etag = header(res.headers['etag']);
    const length = Number(header(res.headers['content-length']));
    const correct =
      res.statusCode === 200 &&
      contentType !== undefined &&
      ACCEPTABLE_TYPES[request.client].includes(contentType) &&
      length === body.byteLength &&
      looksLike(contentType, body);
    return {
      status: res.statusCode,
      ...(contentType !== undefined && { contentType }),
      ...(etag !== undefined && { etag }),
      bytes: body.byteLength,
      correct,
      degraded: res.statusCode === 200 && header(res.headers['cache-control']) === degradedCacheControl,
    };
  } catch (error) {
    return { status: 0, error: errorKind(error), errorMessage: String(error), bytes: 0, correct: false, degraded: false };
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The body starts the way its announced type does (a cheap stand-in for decoding every answer). */
function looksLike(contentType: string, body: Buffer): boolean {
  const ascii = (start: number, end: number) => body.subarray(start, end).toString('latin1');
  switch (contentType) {
    case 'image/jpeg':
      return body[0] === 0xff && body[1] === 0xd8 && body[2] === 0xff;
    case 'image/png':
      return ascii(1, 4) === 'PNG' && body[0] === 0x89;
    case 'image/webp':
      return ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP';
    case 'image/avif':
      return ascii(4, 8) === 'ftyp' && ascii(8, 32).includes('avi');
    default:
      return false;
  }
}

function errorKind(error: unknown): ErrorKind {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  if (code.includes('TIMEOUT')) return 'timeout';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return 'reset';
  return 'other';
}
