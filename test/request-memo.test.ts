/**
 * The memo of read requests (origin/flow/request-memo.ts) is only a shortcut: a repeated request
 * must get, header for header and byte for byte, what the flow without the memo answers, and no
 * request may get an answer remembered for different headers. Two servers over one origin (the
 * same variant tier, the same source) differ only in the memo: one remembers, one reads every
 * request afresh. Every request of a table goes to both, in several orders, over real sockets.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig, type Config } from '../origin/config.js';
import { createOriginParts, type OriginParts } from '../origin/create-origin.js';
import { createRequestMemo } from '../origin/flow/request-memo.js';
import type { FlowDeps } from '../origin/flow/serve-image.js';
import { signPathAndQuery } from '../origin/signing.js';
import { createSource } from '../origin/sources/create-source.js';
import { SAMPLES } from '../support/paths.js';
import { jsonError, metricValue, rawGet, serverOverParts, type RawResponse } from './helpers/origin.js';

const SIGNING_KEY = 'memo-test-signing-key-0123456789';
const AUTH = 'X-Origin-Auth';
const SECRET = 'memo-test-shared-secret-0123456789';
const PAGE = 'https://app.example';

interface Pair {
  /** Remembers read requests. */
  readonly memo: string;
  /** Reads every request afresh: the flow as it was before the memo. */
  readonly fresh: string;
  readonly parts: OriginParts;
  close(): Promise<void>;
}

async function startPair(env: Record<string, string>): Promise<Pair> {
  const config = loadConfig({ ORIGIN_SOURCE: `fs:${SAMPLES}`, ...env });
  const source = await createSource(config);
  const parts = createOriginParts(config, source);
  const fresh: FlowDeps = { ...parts.flow, memo: createRequestMemo(parts.reading, 0) };
  const servers = [serverFor(config, parts, parts.flow), serverFor(config, parts, fresh)];
  const [memo = '', unremembered = ''] = await Promise.all(
    servers.map(async (app) => {
      await app.listen({ host: '127.0.0.1', port: 0 });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    }),
  );
  return {
    memo,
    fresh: unremembered,
    parts,
    async close() {
      await Promise.all(servers.map((app) => app.close()));
      await source.close();
    },
  };
}

function serverFor(config: Config, parts: OriginParts, flow: FlowDeps) {
  return serverOverParts(config, parts, { flow }).app;
}

/** Everything but what describes the moment or the connection. */
function answerOf(response: RawResponse) {
  const { date: _date, connection: _connection, 'keep-alive': _keepAlive, ...headers } = response.headers;
  return { status: response.status, headers, body: response.body.toString('base64') };
}

interface Row {
  readonly path: string;
  readonly headers?: Record<string, string>;
}

const AVIF = { accept: 'image/avif,image/webp,*/*' };
const WEBP = { accept: 'image/webp,*/*' };
const LEGACY = { accept: '*/*' };
const PHOTO = '/evening-glow.jpg';

/** One URL asked with every header the flow reads, and URLs the origin refuses. */
const TABLE: readonly Row[] = [
  { path: `${PHOTO}?w=120`, headers: AVIF },
  { path: `${PHOTO}?w=120`, headers: WEBP },
  { path: `${PHOTO}?w=120`, headers: LEGACY },
  { path: `${PHOTO}?w=120` },
  { path: `${PHOTO}?w=120`, headers: { ...AVIF, 'x-image-format-token': 'webp' } },
  { path: `${PHOTO}?w=120`, headers: { ...WEBP, 'x-image-format-token': 'bogus' } },
  { path: `${PHOTO}?w=120`, headers: { accept: 'image/avif;q=0,image/webp' } },
  { path: `${PHOTO}?w=120`, headers: { ...WEBP, 'save-data': 'on' } },
  { path: `${PHOTO}?w=auto`, headers: { ...WEBP, 'sec-ch-width': '300' } },
  { path: `${PHOTO}?w=auto`, headers: { ...WEBP, 'sec-ch-width': '700' } },
  { path: `${PHOTO}?w=auto`, headers: { ...WEBP, 'sec-ch-viewport-width': '390', 'sec-ch-dpr': '3' } },
  { path: `${PHOTO}?w=auto`, headers: WEBP },
  { path: `${PHOTO}?w=auto`, headers: { ...WEBP, 'save-data': 'on' } },
  { path: `${PHOTO}?w=100&dpr=auto`, headers: { ...AVIF, 'sec-ch-dpr': '2' } },
  { path: `${PHOTO}?w=100&dpr=auto`, headers: { ...AVIF, dpr: '1' } },
  { path: `${PHOTO}?w=100&fm=jpeg`, headers: { ...AVIF, 'save-data': 'on' } },
  { path: `${PHOTO}?w=100&fm=jpeg`, headers: AVIF },
  { path: `${PHOTO}?w=auto&fm=jpeg`, headers: { ...AVIF, 'save-data': 'on' } },
  { path: `${PHOTO}?w=auto&fm=jpeg`, headers: AVIF },
  { path: `${PHOTO}?preset=thumb`, headers: AVIF },
  { path: `${PHOTO}?preset=thumb`, headers: WEBP },
  { path: `${PHOTO}?preset=avatar&dpr=2`, headers: WEBP },
  { path: `${PHOTO}!thumb`, headers: WEBP },
  { path: `${PHOTO}?x-oss-process=image/resize,w_90`, headers: WEBP },
  { path: `${PHOTO}?w=80&dl=glow`, headers: WEBP },
  { path: `${PHOTO}?info=1` },
  { path: `${PHOTO}?w=120`, headers: { ...AVIF, origin: PAGE } },
  { path: `${PHOTO}?w=120`, headers: { ...AVIF, origin: 'https://elsewhere.example' } },
  // Refused: every time, with the same answer.
  { path: `${PHOTO}?w=0120`, headers: WEBP },
  { path: `${PHOTO}?w=120&&`, headers: WEBP },
  { path: `${PHOTO}?w=%31%32%30`, headers: WEBP },
  { path: `${PHOTO}?width=120`, headers: WEBP },
  { path: `${PHOTO}?preset=nope`, headers: WEBP },
  { path: `${PHOTO}!nope`, headers: WEBP },
  { path: '/missing.jpg?w=120', headers: WEBP },
];

async function ask(base: string, row: Row, extra: Record<string, string> = {}): Promise<RawResponse> {
  return rawGet(base, row.path, { ...row.headers, ...extra });
}

/** Each row through the memo server (twice, the second from the memo) and the fresh one; equal answers. */
async function compareAll(pair: Pair, rows: readonly Row[], extra: (row: Row) => Record<string, string> = () => ({})): Promise<void> {
  for (const row of rows) {
    const expected = answerOf(await ask(pair.fresh, row, extra(row)));
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(answerOf(await ask(pair.memo, row, extra(row))), expected, `${row.path} ${JSON.stringify(row.headers ?? {})}, ask ${i + 1}`);
    }
  }
}

describe('the memo of read requests answers exactly as the flow without it', () => {
  let pair: Pair;
  const etags = new Map<Row, string>();
  before(async () => {
    pair = await startPair({ ORIGIN_CORS_ORIGINS: PAGE });
    // Every variant made once, through the memo-less server: both answer from the same tier after this.
    for (const row of TABLE) {
      const made = await ask(pair.fresh, row);
      if (typeof made.headers.etag === 'string') etags.set(row, made.headers.etag);
    }
  });
  after(() => pair.close());

  test('the table, in order, reversed and interleaved: same status, headers and body', async () => {
    await compareAll(pair, TABLE);
    await compareAll(pair, [...TABLE].reverse());
    await compareAll(pair, TABLE.filter((_, i) => i % 2 === 1).concat(TABLE.filter((_, i) => i % 2 === 0)));
  });

  test('revalidations: 304 for the ETag each variant has, 200 for another variant\'s ETag', async () => {
    const photoEtags = TABLE.map((row) => etags.get(row)).filter((etag): etag is string => etag !== undefined);
    await compareAll(pair, TABLE, (row) => ({ 'if-none-match': etags.get(row) ?? '"none"' }));
    await compareAll(pair, TABLE, () => ({ 'if-none-match': photoEtags[0] ?? '"none"' }));
    await compareAll(pair, TABLE, () => ({ 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() }));
  });

  test('different headers never share an answer: the table really varies, and a remembered URL still does', async () => {
    const [avif, webp, legacy] = await Promise.all([AVIF, WEBP, LEGACY].map((headers) => ask(pair.memo, { path: `${PHOTO}?w=120`, headers })));
    assert.deepEqual([avif, webp, legacy].map((r) => r?.headers['content-type']), ['image/avif', 'image/webp', 'image/jpeg']);
    const widths = await Promise.all(['300', '700'].map((w) => ask(pair.memo, { path: `${PHOTO}?w=auto`, headers: { ...WEBP, 'sec-ch-width': w } })));
    assert.notEqual(widths[0]?.headers.etag, widths[1]?.headers.etag);
    // Save-Data counts where hints do (w=auto, dpr=auto): a lower quality, another variant.
    const saveData = await ask(pair.memo, { path: `${PHOTO}?w=auto&fm=jpeg`, headers: { ...AVIF, 'save-data': 'on' } });
    const plain = await ask(pair.memo, { path: `${PHOTO}?w=auto&fm=jpeg`, headers: AVIF });
    assert.notEqual(saveData.headers.etag, plain.headers.etag);
  });

  test('repeated hits are counted as before: requests by status and variant-tier hits', async () => {
    const before = await pair.parts.metrics.text();
    for (let i = 0; i < 5; i++) await ask(pair.memo, { path: `${PHOTO}?preset=thumb`, headers: AVIF });
    const after = await pair.parts.metrics.text();
    const delta = (sample: string) => metricValue(after, sample) - metricValue(before, sample);
    assert.equal(delta('image_origin_requests_total{status="200"}'), 5);
    assert.equal(delta('image_origin_cache_requests_total{tier="variant",result="hit"}'), 5);
  });
});

describe('the memo with signed URLs and back-to-origin authentication', () => {
  let pair: Pair;
  const auth = { [AUTH.toLowerCase()]: SECRET };
  before(async () => {
    pair = await startPair({ ORIGIN_SIGNING_KEYS: SIGNING_KEY, ORIGIN_REQUIRE_HEADER: `${AUTH}: ${SECRET}` });
  });
  after(() => pair.close());

  test('a signed URL answers the same both ways; its tampered, unsigned and unauthenticated forms are refused every time', async () => {
    const signed = signPathAndQuery(`${PHOTO}?w=110`, SIGNING_KEY);
    const rows: Row[] = [
      { path: signed, headers: { ...WEBP, ...auth } },
      { path: signed, headers: { ...AVIF, ...auth } },
      { path: signed, headers: WEBP },
      { path: signed.replace('w=110', 'w=111'), headers: { ...WEBP, ...auth } },
      { path: `${PHOTO}?w=110`, headers: { ...WEBP, ...auth } },
    ];
    for (const row of rows) await ask(pair.fresh, row);
    await compareAll(pair, rows);
    assert.equal((await ask(pair.memo, rows[0] as Row)).status, 200);
    assert.equal(jsonError(await ask(pair.memo, rows[2] as Row)).code, 'ORIGIN_AUTH_REQUIRED');
  });

  test('a remembered signed URL stops working when its exp passes', async (t) => {
    const now = Date.now();
    const expiring = signPathAndQuery(`${PHOTO}?w=105&exp=${Math.floor(now / 1000) + 60}`, SIGNING_KEY);
    const row = { path: expiring, headers: { ...WEBP, ...auth } };
    assert.equal((await ask(pair.memo, row)).status, 200);
    assert.equal((await ask(pair.memo, row)).status, 200);
    t.mock.method(Date, 'now', () => now + 120_000);
    const expired = await ask(pair.memo, row);
    assert.equal(expired.status, 403);
    assert.equal(jsonError(expired).code, 'SIGNATURE_EXPIRED');
    assert.deepEqual(answerOf(expired), answerOf(await ask(pair.fresh, row)));
  });
});
