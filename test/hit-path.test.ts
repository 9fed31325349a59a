/**
 * The hit path (origin/http/hit-path.ts) answers kept variants before fastify routes the request.
 * It is only a shortcut: two servers over one origin (the same memo, tier and source) differ only
 * in it, and every answer, count and log line must be the same both ways, over real sockets.
 * Whatever is not a hit must reach fastify untouched.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig, type Config } from '../origin/config.js';
import { createOriginParts, type OriginParts } from '../origin/create-origin.js';
import { serveImage } from '../origin/flow/serve-image.js';
import { createHitPath, type HitPathDeps } from '../origin/http/hit-path.js';
import { createInFlight } from '../origin/http/in-flight.js';
import type { Server } from '../origin/http/server.js';
import { createSource } from '../origin/sources/create-source.js';
import { SAMPLES } from '../support/paths.js';
import { metricValue, rawGet, serverOverParts, type RawResponse } from './helpers/origin.js';

const AUTH = 'x-origin-auth';
const SECRET = 'hit-path-test-shared-secret-0123456789';
const PAGE = 'https://app.example';
const PHOTO = '/evening-glow.jpg';
const AVIF = { accept: 'image/avif,image/webp,*/*', [AUTH]: SECRET };
const WEBP = { accept: 'image/webp,*/*', [AUTH]: SECRET };

interface Side {
  readonly base: string;
  readonly server: Server;
  /** The JSON log lines this server wrote. */
  readonly lines: Record<string, unknown>[];
}

interface Pair {
  readonly hit: Side;
  /** The same origin with every request routed by fastify. */
  readonly routed: Side;
  readonly parts: OriginParts;
  close(): Promise<void>;
}

async function startPair(env: Record<string, string>): Promise<Pair> {
  const config = loadConfig({ ORIGIN_SOURCE: `fs:${SAMPLES}`, ORIGIN_CORS_ORIGINS: PAGE, ORIGIN_REQUIRE_HEADER: `${AUTH}: ${SECRET}`, ...env });
  const source = await createSource(config);
  const parts = createOriginParts(config, source);
  const [hit, routed] = await Promise.all([side(config, parts, true), side(config, parts, false)]);
  return {
    hit,
    routed,
    parts,
    async close() {
      await Promise.all([hit.server.app.close(), routed.server.app.close()]);
      await source.close();
    },
  };
}

async function side(config: Config, parts: OriginParts, hitPath: boolean): Promise<Side> {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const server = serverOverParts(config, parts, { logger, hitPath });
  await server.app.listen({ host: '127.0.0.1', port: 0 });
  return { base: `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`, server, lines };
}

/** Everything but what describes the moment or the connection. */
function answerOf(response: RawResponse) {
  const { date: _date, connection: _connection, 'keep-alive': _keepAlive, ...headers } = response.headers;
  return { status: response.status, headers, body: response.body.toString('base64') };
}

/** A log line without what differs between two requests: its id and its time. */
function lineOf(line: Record<string, unknown> | undefined) {
  assert.ok(line);
  const { reqId: _reqId, time: _time, ms, pid: _pid, ...rest } = line;
  assert.equal(typeof ms, 'number');
  return rest;
}

interface Row {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly method?: string;
}

const HITS: readonly Row[] = [
  { path: `${PHOTO}?w=120`, headers: AVIF },
  { path: `${PHOTO}?w=120`, headers: WEBP },
  { path: `${PHOTO}?w=120`, headers: { ...WEBP, origin: PAGE } },
  { path: `${PHOTO}?w=120`, headers: { ...WEBP, origin: 'https://elsewhere.example' } },
  { path: `${PHOTO}?w=auto`, headers: { ...WEBP, 'sec-ch-width': '300' } },
  { path: `${PHOTO}?preset=thumb`, headers: AVIF },
  { path: `${PHOTO}?w=80&dl=glow`, headers: WEBP },
  { path: `${PHOTO}?x-oss-process=image/resize,w_90`, headers: WEBP },
  { path: `${PHOTO}?info=1`, headers: WEBP },
];

/** Asked of the hit server, these are not hits: fastify answers them. */
const NOT_HITS: readonly Row[] = [
  { path: `${PHOTO}?w=120`, headers: WEBP, method: 'HEAD' },
  { path: `${PHOTO}?w=120`, headers: { accept: 'image/webp,*/*' } }, // no back-to-origin header: 403
  { path: `${PHOTO}?w=0120`, headers: WEBP }, // refused
  { path: '/healthz', headers: {} },
];

const ask = (base: string, row: Row, extra: Record<string, string> = {}) => rawGet(base, row.path, { ...row.headers, ...extra }, row.method);

describe('the hit path answers exactly as fastify does', () => {
  let pair: Pair;
  before(async () => {
    pair = await startPair({});
    for (const row of HITS) await ask(pair.routed.base, row); // made once; both serve them from the tier now
  });
  after(() => pair.close());

  test('hits and their 304s: same status, headers, body and log line; the hit path wrote it', async () => {
    for (const row of HITS) {
      const routed = await ask(pair.routed.base, row);
      const hit = await ask(pair.hit.base, row);
      assert.deepEqual(answerOf(hit), answerOf(routed), `${row.path} ${JSON.stringify(row.headers)}`);
      assert.deepEqual(lineOf(pair.hit.lines.at(-1)), lineOf(pair.routed.lines.at(-1)));
      assert.match(String(pair.hit.lines.at(-1)?.reqId), /^hit-/, 'answered before fastify');
      const etag = String(routed.headers.etag);
      const notModified = await ask(pair.hit.base, row, { 'if-none-match': etag });
      assert.equal(notModified.status, 304);
      assert.deepEqual(answerOf(notModified), answerOf(await ask(pair.routed.base, row, { 'if-none-match': etag })));
    }
  });

  test('what is not a hit is left to fastify, and answered as before', async () => {
    for (const row of NOT_HITS) {
      const hit = await ask(pair.hit.base, row);
      assert.deepEqual(answerOf(hit), answerOf(await ask(pair.routed.base, row)), `${row.method ?? 'GET'} ${row.path}`);
      assert.doesNotMatch(String(pair.hit.lines.at(-1)?.reqId), /^hit-/, `${row.method ?? 'GET'} ${row.path} went to fastify`);
    }
    const miss = await ask(pair.hit.base, { path: `${PHOTO}?w=121`, headers: WEBP });
    assert.match(String(miss.headers['server-timing']), /transform;dur=/, 'a miss is made now');
    assert.doesNotMatch(String(pair.hit.lines.at(-1)?.reqId), /^hit-/);
  });

  test('a hit is counted once, as a request and a tier hit, and leaves the in-flight count at zero', async () => {
    const row = HITS[0] as Row;
    const before = await pair.parts.metrics.text();
    for (let i = 0; i < 5; i++) await ask(pair.hit.base, row);
    await ask(pair.hit.base, { path: `${PHOTO}?w=122`, headers: WEBP }); // a miss: looked up (and counted) once
    const after = await pair.parts.metrics.text();
    const delta = (sample: string) => metricValue(after, sample) - metricValue(before, sample);
    assert.equal(delta('image_origin_requests_total{status="200"}'), 6);
    assert.equal(delta('image_origin_cache_requests_total{tier="variant",result="hit"}'), 5);
    assert.equal(delta('image_origin_cache_requests_total{tier="variant",result="miss"}'), 1);
    assert.equal(delta('image_origin_request_duration_seconds_count'), 6);
    assert.equal(pair.hit.server.inFlightRequests(), 0);
  });
});

describe('the hit path touches nothing it does not answer', () => {
  let parts: OriginParts;
  let close: () => Promise<void>;
  let closing = false;
  let base: string;
  before(async () => {
    const config = loadConfig({ ORIGIN_SOURCE: `fs:${SAMPLES}` });
    const source = await createSource(config);
    parts = createOriginParts(config, source);
    const deps: HitPathDeps = { flow: parts.flow, metrics: parts.metrics, logger: pino({ level: 'silent' }), inFlight: createInFlight(), sendTimeoutMs: 10_000, closing: () => closing };
    const answerHit = createHitPath(deps);
    // What the hit path leaves is answered 599 here, with nothing written before.
    const server = http.createServer((req, res) => {
      if (!answerHit(req, res)) res.writeHead(599, { 'x-headers-sent-before': String(res.headersSent) }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = async () => {
      await new Promise((resolve) => server.close(resolve));
      await source.close();
    };
    // Kept in the tier and remembered, as a first request through fastify leaves it.
    const request = { path: PHOTO, rawQuery: 'w=64', header: (name: string) => (name === 'accept' ? 'image/webp' : undefined) };
    await serveImage(parts.flow, { ...request, signal: new AbortController().signal });
  });
  after(() => close());

  test('a kept variant is answered; another method, an unread URL, a miss or a closing server is not', async () => {
    const webp = { accept: 'image/webp' };
    assert.equal((await rawGet(base, `${PHOTO}?w=64`, webp)).status, 200);
    assert.equal((await rawGet(base, `${PHOTO}?w=64`, webp, 'HEAD')).status, 599);
    assert.equal((await rawGet(base, `${PHOTO}?w=65`, webp)).status, 599, 'never read');
    assert.equal((await rawGet(base, `${PHOTO}?w=64`, { accept: 'image/avif' })).status, 599, 'another variant: not kept');
    closing = true;
    const whileClosing = await rawGet(base, `${PHOTO}?w=64`, webp);
    closing = false;
    assert.equal(whileClosing.status, 599);
    assert.equal(whileClosing.headers['x-headers-sent-before'], 'false');
  });
});
