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
import net from 'node:net';
import { Pool } from 'undici';
import { cpuWindow, type CpuWindowResult } from './system.js';
import { ACCEPTABLE_TYPES, requestHeaders, requestPath, seededRandom, type ImageRequest } from './workload.js';

export type Schedule =
  | { readonly kind: 'closed'; readonly concurrency: number }
  | { readonly kind: 'open'; readonly rate: (elapsedSeconds: number) => number; readonly seed?: number };

export type ErrorKind = 'reset' | 'timeout' | 'other';

export interface Outcome<R extends ImageRequest = ImageRequest> {
  readonly request: R;
  /** Milliseconds from the start: when the request was due (open loop) or sent (closed loop). */
  readonly due: number;
  readonly end: number;
  readonly latency: number;
  /** 0 when there was no HTTP answer. */
  readonly status: number;
  readonly error?: ErrorKind;
  readonly errorMessage?: string;
  /** The `code` of a JSON error answer (`{"error":{"code":…}}`), for 4xx and 5xx. */
  readonly errorCode?: string;
  /** The client hung up on purpose before the answer was complete (soak's hang-up requests). */
  readonly hungUp?: boolean;
  readonly contentType?: string;
  readonly etag?: string;
  readonly bytes: number;
  /** A 200 whose body is an image of a type this client accepts, as long as announced. */
  readonly correct: boolean;
  /** A 200 made the cheap way under pressure (recognised by its short Cache-Control). */
  readonly degraded: boolean;
}

export interface LoadOptions<R extends ImageRequest = ImageRequest> {
  readonly base: string;
  readonly schedule: Schedule;
  readonly durationSeconds: number;
  readonly next: (elapsedSeconds: number) => R;
  readonly onOutcome?: (outcome: Outcome<R>) => void;
  /** How one request is sent and read; default `exchange` (a GET through the pool). */
  readonly exchange?: (pool: Pool, request: R) => Promise<Answer>;
  /** Open loop: arrivals beyond this many unanswered requests are not sent, and counted. */
  readonly maxInFlight?: number;
  /** Client-side timeout (headers and body), milliseconds. */
  readonly timeoutMs: number;
  readonly degradedCacheControl: string;
  /** Processes whose CPU is measured over the window (`self` = this process). */
  readonly watch: Readonly<Record<string, number | 'self'>>;
  readonly signal?: AbortSignal;
}

export interface LoadResult<R extends ImageRequest = ImageRequest> {
  readonly outcomes: readonly Outcome<R>[];
  readonly windowSeconds: number;
  /** Wall-clock time (ms since the epoch) of the window's start: `due` and `end` count from it. */
  readonly startedAtEpochMs: number;
  /** Open-loop arrivals dropped because `maxInFlight` requests were unanswered. */
  readonly notSent: number;
  readonly cpu: CpuWindowResult;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runLoad<R extends ImageRequest = ImageRequest>(options: LoadOptions<R>): Promise<LoadResult<R>> {
  const { schedule } = options;
  const connections = schedule.kind === 'closed' ? schedule.concurrency : (options.maxInFlight ?? 512);
  const pool = new Pool(options.base, {
    connections,
    pipelining: 1,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    keepAliveTimeout: 60_000,
  });
  const outcomes: Outcome<R>[] = [];
  const windowMs = options.durationSeconds * 1000;
  const inFlight = new Set<Promise<void>>();
  let notSent = 0;
  const started = performance.now();
  const startedAtEpochMs = performance.timeOrigin + started;
  const elapsed = () => performance.now() - started;
  const cpu = cpuWindow(options.watch);

  const send = (request: R, due: number): Promise<void> => {
    const sent = options.exchange ? options.exchange(pool, request) : exchange(pool, request, options.degradedCacheControl);
    const task = sent.then((answer) => {
      const end = elapsed();
      const outcome: Outcome<R> = { request, due, end, latency: end - due, ...answer };
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
  return { outcomes, windowSeconds: options.durationSeconds, startedAtEpochMs, notSent, cpu: cpuResult };
}

/** What one exchange tells, before the driver adds the request and its timing. */
export type Answer = Omit<Outcome, 'request' | 'due' | 'end' | 'latency'>;

export interface ExchangeOptions {
  /** Sent as is instead of `requestPath(request)` (for paths `requestPath` would encode: `..%2f`). */
  readonly path?: string;
  /** Aborting it is a hang-up: the answer is `hungUp`, not an error. */
  readonly signal?: AbortSignal;
}

/** One GET through the pool, its body read to the end and checked. */
export async function exchange(pool: Pool, request: ImageRequest, degradedCacheControl: string, options: ExchangeOptions = {}): Promise<Answer> {
  try {
    const res = await pool.request({
      path: options.path ?? requestPath(request),
      method: 'GET',
      headers: requestHeaders(request),
      ...(options.signal && { signal: options.signal }),
    });
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
    const errorCode = res.statusCode >= 400 ? jsonErrorCode(contentType, body) : undefined;
    return {
      status: res.statusCode,
      ...(errorCode !== undefined && { errorCode }),
      ...(contentType !== undefined && { contentType }),
      ...(etag !== undefined && { etag }),
      bytes: body.byteLength,
      correct,
      degraded: res.statusCode === 200 && header(res.headers['cache-control']) === degradedCacheControl,
    };
  } catch (error) {
    if (options.signal?.aborted) return { status: 0, hungUp: true, bytes: 0, correct: false, degraded: false };
    return { status: 0, error: errorKind(error), errorMessage: String(error), bytes: 0, correct: false, degraded: false };
  }
}

/** `error.code` of the origin's JSON error body; undefined for anything else. */
function jsonErrorCode(contentType: string | undefined, body: Buffer): string | undefined {
  if (contentType?.startsWith('application/json') !== true) return undefined;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    const error = typeof parsed === 'object' && parsed !== null && 'error' in parsed ? parsed.error : undefined;
    const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Response heads longer than this are not an answer this driver expects. */
const MAX_HEAD_BYTES = 64 * 1024;

/**
 * A client that closes its socket while the body streams: a raw HTTP/1.1 GET on a connection of
 * its own, destroyed as soon as the first body bytes (after the head) arrive. `hungUp` when fewer
 * bytes than announced had arrived by then; an answer that came whole in the first reads counts
 * with its status.
 */
export function hangUpMidBody(base: string, path: string, headers: Readonly<Record<string, string>>, timeoutMs: number): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (answer: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const failed = (error: ErrorKind, message: string) => finish({ status: 0, error, errorMessage: message, bytes: 0, correct: false, degraded: false });
    const timer = setTimeout(() => failed('timeout', `no body within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => {
      const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
      socket.write(`GET ${path} HTTP/1.1\r\nhost: ${url.host}\r\n${lines.join('')}connection: close\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0) {
        if (received.byteLength > MAX_HEAD_BYTES) failed('other', 'response head too long');
        return;
      }
      const head = received.subarray(0, headEnd).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? NaN);
      const bodyBytes = received.byteLength - headEnd - 4;
      if (bodyBytes === 0 && length !== 0) return;
      // A body of unknown length (chunked) that has started is cut too.
      if (!(bodyBytes >= length)) return finish({ status, hungUp: true, bytes: bodyBytes, correct: false, degraded: false });
      const contentType = /\r\ncontent-type:\s*([^\r;]+)/i.exec(head)?.[1]?.trim();
      const errorCode = status >= 400 ? jsonErrorCode(contentType, received.subarray(headEnd + 4)) : undefined;
      finish({ status, ...(errorCode !== undefined && { errorCode }), bytes: bodyBytes, correct: false, degraded: false });
    });
    socket.once('error', (error) => failed(errorKind(error), String(error)));
    socket.once('close', () => failed('reset', 'connection closed before the body'));
  });
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
