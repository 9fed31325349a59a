/**
 * The storage-fault suite, run once per network source (test/storage-faults-http.test.ts and
 * test/storage-faults-s3.test.ts): a fault-storage server (fault-storage.ts) is the origin's
 * source, one key per fault. For each fault, 20 concurrent requests for 20 variants of the key
 * must all get the README's status and code in the clean JSON error shape (`no-store` on 5xx),
 * the storage must have been asked once per key per negative-TTL interval, and once the fault is
 * cleared the same URL must answer an image after the negative TTL (or the store's back-off).
 * Oversized bodies must leave RSS roughly where it was, and nothing may reject unhandled.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { sleep } from './child-processes.js';
import { startFaultStorage, type Fault, type FaultStorage } from './fault-storage.js';
import { decode } from './images.js';
import { metricValue, rawGet, startOrigin, type RawResponse, type RunningOrigin } from './origin.js';

export type SourceKind = 'http' | 's3';

export interface FaultCase {
  readonly name: string;
  readonly fault: Fault;
  readonly status: number;
  readonly code: string;
  /** How long the fault may be remembered after the last failure: the negative TTL unless the store asked for more. */
  readonly rememberedMs?: number;
}

export const NEGATIVE_TTL_MS = 1_000;
const MiB = 1024 * 1024;
const WAITERS = 20;
/** Time past a remembered fault's end before asking again: a busy two-core machine is slow. */
const MARGIN_MS = 400;
/** An oversized body is this many times the size limit; buffering it would show in RSS. */
const OVERSIZE = 256 * MiB;

/** Timeouts small enough for a fast suite, the drip cut by the total bound well before the request deadline. */
const FAULT_ENV = {
  ORIGIN_SOURCE_HEADERS_TIMEOUT_MS: '800',
  ORIGIN_SOURCE_BODY_TIMEOUT_MS: '800',
  ORIGIN_SOURCE_TOTAL_TIMEOUT_MS: '2000',
  ORIGIN_REQUEST_DEADLINE_MS: '15000',
  ORIGIN_SOURCE_MAX_BYTES: String(MiB),
  ORIGIN_NEGATIVE_TTL_MS: String(NEGATIVE_TTL_MS),
  ORIGIN_SOURCE_BACKOFF_MAX_MS: '6000',
  ORIGIN_TRANSFORM_CONCURRENCY: '2',
};

function sourceEnv(kind: SourceKind, storage: FaultStorage): Record<string, string> {
  if (kind === 'http') return { ORIGIN_SOURCE: `${storage.server.origin}/base/`, ORIGIN_HTTP_ALLOW_PRIVATE: 'true' };
  return {
    ORIGIN_SOURCE: 's3://faulty-bucket',
    S3_ENDPOINT: storage.server.origin,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: 'AKIDFAULTS',
    AWS_SECRET_ACCESS_KEY: 'fault-suite-secret',
  };
}

/** The faults both sources see alike; the 403 and 301 rows depend on the source. */
export function faultCases(kind: SourceKind): FaultCase[] {
  const status = (s: number, code: string, retryAfter?: string): Fault => ({ kind: 'status', status: s, code, ...(retryAfter && { retryAfter }) });
  const configuration = (name: string, code: string): FaultCase => ({ name, fault: status(403, code), status: 502, code: 'SOURCE_CONFIGURATION' });
  return [
    { name: 'reset mid-body', fault: { kind: 'reset-mid-body' }, status: 502, code: 'SOURCE_UNAVAILABLE' },
    { name: 'truncated body', fault: { kind: 'truncated' }, status: 502, code: 'SOURCE_UNAVAILABLE' },
    { name: 'stalled headers', fault: { kind: 'stall-headers' }, status: 504, code: 'SOURCE_TIMEOUT' },
    { name: 'drip-fed body', fault: { kind: 'drip', everyMs: 100 }, status: 504, code: 'SOURCE_TIMEOUT' },
    { name: '500 InternalError', fault: status(500, 'InternalError'), status: 502, code: 'SOURCE_UNAVAILABLE' },
    { name: '503 SlowDown with Retry-After', fault: status(503, 'SlowDown', '3'), status: 502, code: 'SOURCE_UNAVAILABLE', rememberedMs: 3_600 },
    { name: '404 NoSuchKey, then uploaded', fault: status(404, 'NoSuchKey'), status: 404, code: 'NOT_FOUND' },
    kind === 's3'
      ? { name: '403 AccessDenied (a missing key to S3)', fault: status(403, 'AccessDenied'), status: 404, code: 'NOT_FOUND' }
      : configuration('403 AccessDenied', 'AccessDenied'),
    configuration('403 InvalidAccessKeyId', 'InvalidAccessKeyId'),
    configuration('403 SignatureDoesNotMatch', 'SignatureDoesNotMatch'),
    kind === 's3'
      ? { name: '301 PermanentRedirect', fault: status(301, 'PermanentRedirect'), status: 502, code: 'SOURCE_CONFIGURATION' }
      : { name: '301 off the base', fault: { kind: 'status', status: 301, location: 'http://192.0.2.1/elsewhere.png' }, status: 502, code: 'SOURCE_REDIRECT_REFUSED' },
    { name: '200 with an HTML body', fault: { kind: 'html' }, status: 415, code: 'UNSUPPORTED_FORMAT' },
    { name: 'oversized, declared', fault: { kind: 'oversized', bytes: OVERSIZE, declared: true }, status: 413, code: 'SOURCE_TOO_LARGE' },
    { name: 'oversized, chunked', fault: { kind: 'oversized', bytes: OVERSIZE, declared: false }, status: 413, code: 'SOURCE_TOO_LARGE' },
  ];
}

const slug = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** The README's error shape and caching: `{"error":{"code","message"}}`, `no-store` on 5xx, nothing internal. */
export function assertCleanError(r: RawResponse, status: number, code: string, context: string): void {
  assert.equal(r.status, status, `${context}: ${r.body.toString().slice(0, 200)}`);
  assert.match(String(r.headers['content-type']), /^application\/json/, context);
  const body = JSON.parse(r.body.toString('utf8')) as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(body), ['error'], context);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message'], context);
  assert.equal(body.error['code'], code, context);
  assert.doesNotMatch(r.body.toString(), /127\.0\.0\.1|faulty-bucket|AKIDFAULTS|fault-suite-secret|Error:|\n\s+at /, context);
  if (status >= 500) assert.equal(r.headers['cache-control'], 'no-store', context);
  else assert.equal(r.headers['cache-control'], 'public, max-age=60', context);
}

/** Fires `WAITERS` concurrent requests; resolves with the answers and how long the burst took. */
async function burst(origin: RunningOrigin, path: (i: number) => string, headers: Record<string, string> = {}) {
  const started = performance.now();
  const responses = await Promise.all(Array.from({ length: WAITERS }, (_, i) => rawGet(origin.url, path(i), headers)));
  return { responses, elapsedMs: performance.now() - started };
}

/** One storage request per key per negative-TTL interval: 1 for a burst shorter than the TTL. */
function assertOnePerInterval(seen: number, elapsedMs: number, context: string): void {
  const allowed = 1 + Math.floor(elapsedMs / NEGATIVE_TTL_MS);
  assert.ok(seen >= 1 && seen <= allowed, `${context}: the storage saw ${seen} requests for ${WAITERS} waiters in ${Math.round(elapsedMs)} ms (at most ${allowed})`);
}

/** What source-specific tests get: the running origin and storage (valid inside tests only). */
export interface FaultSuiteContext {
  readonly origin: () => RunningOrigin;
  readonly storage: () => FaultStorage;
}

/** `extra` adds source-specific tests to the concurrent group, before the final checks. */
export function defineFaultSuite(kind: SourceKind, extra?: (context: FaultSuiteContext) => void): void {
  let storage: FaultStorage;
  let origin: RunningOrigin;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    const image = await sharp({ create: { width: 120, height: 90, channels: 3, background: '#3a7' } }).png().toBuffer();
    storage = await startFaultStorage(image);
    origin = await startOrigin({ ...FAULT_ENV, ...sourceEnv(kind, storage) });
  });
  after(async () => {
    await origin.close();
    await storage.close();
    process.off('unhandledRejection', onUnhandled);
  });

  async function faultThenRecovery(c: FaultCase, measureRss: boolean): Promise<void> {
    const key = `faults/${slug(c.name)}.png`;
    storage.set(key, c.fault);
    const rssBefore = process.memoryUsage().rss;
    const { responses, elapsedMs } = await burst(origin, (i) => `/${key}?w=${40 + i}&fm=png`);
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    responses.forEach((r, i) => assertCleanError(r, c.status, c.code, `${c.name}, waiter ${i}`));
    assertOnePerInterval(storage.requestsFor(key).length, elapsedMs, c.name);
    if (measureRss) assert.ok(rssGrowth < 64 * MiB, `${c.name}: RSS grew by ${Math.round(rssGrowth / MiB)} MiB for a ${OVERSIZE / MiB} MiB body`);

    storage.set(key, undefined);
    await sleep((c.rememberedMs ?? NEGATIVE_TTL_MS) + MARGIN_MS);
    const healed = await rawGet(origin.url, `/${key}?w=40&fm=png`);
    assert.equal(healed.status, 200, `${c.name}: after the fault cleared: ${healed.body.toString().slice(0, 200)}`);
    const image = await decode(healed.body);
    assert.deepEqual([image.format, image.width], ['png', 40]);
  }

  const cases = faultCases(kind);
  describe(`${kind} source faults, through the origin`, { concurrency: true }, () => {
    for (const c of cases.filter((x) => x.fault.kind !== 'oversized')) {
      test(`${c.name}: ${c.status} ${c.code} for ${WAITERS} waiters sharing one storage request, healthy again after the negative TTL`, () =>
        faultThenRecovery(c, false));
    }

    test('a throttling store is left alone for its Retry-After, not just the negative TTL', async () => {
      const key = 'faults/throttled-backoff.png';
      storage.set(key, { kind: 'status', status: 503, code: 'SlowDown', retryAfter: '4' });
      const first = await rawGet(origin.url, `/${key}?w=50&fm=png`);
      assertCleanError(first, 502, 'SOURCE_UNAVAILABLE', 'first answer');
      await sleep(NEGATIVE_TTL_MS + MARGIN_MS);
      const during = await rawGet(origin.url, `/${key}?w=51&fm=png`);
      assertCleanError(during, 502, 'SOURCE_UNAVAILABLE', 'past the negative TTL, within Retry-After');
      assert.equal(storage.requestsFor(key).length, 1, 'the store was not asked again before its Retry-After');
    });

    test(`${WAITERS} concurrent conditional requests share one failing metadata look-up`, async () => {
      const key = 'faults/conditional-500.png';
      storage.set(key, { kind: 'status', status: 500, code: 'InternalError' });
      const { responses, elapsedMs } = await burst(origin, (i) => `/${key}?w=${60 + i}&fm=png`, { 'if-none-match': '"held-by-the-cdn"' });
      responses.forEach((r, i) => assertCleanError(r, 502, 'SOURCE_UNAVAILABLE', `conditional waiter ${i}`));
      assertOnePerInterval(storage.requestsFor(key).length, elapsedMs, 'conditional');
    });

    extra?.({ origin: () => origin, storage: () => storage });
  });

  describe(`${kind} source: oversized bodies (one at a time, for RSS)`, () => {
    for (const c of cases.filter((x) => x.fault.kind === 'oversized')) {
      test(`${c.name}: ${c.status} ${c.code}, RSS growth modest, healthy again after the negative TTL`, () => faultThenRecovery(c, true));
    }
  });

  test('negative-cache hits are counted, and nothing rejected unhandled', async () => {
    const text = await origin.metrics();
    assert.ok(metricValue(text, 'image_origin_cache_requests_total{tier="negative",result="hit"}') > 0, 'negative hits counted');
    assert.ok(metricValue(text, 'image_origin_cache_requests_total{tier="negative",result="miss"}') > 0, 'negative misses counted');
    assert.deepEqual(unhandled, []);
  });
}
