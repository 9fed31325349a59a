/** Signed URLs: the scheme, the server's checks, the CLI and the URL builder, round trip. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { signaturePayload, signPathAndQuery } from '../origin/signing.js';
import { buildImageUrl, buildSrcset } from '../origin/url-builder.js';
import { decode } from './helpers/images.js';
import { jsonError, rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { CORPUS, PROJECT_ROOT } from '../support/paths.js';

const OLD_KEY = 'old-key-0123456789abcdef';
const NEW_KEY = 'new-key-fedcba9876543210';
const PHOTO = '/photos/evening-glow-baseline.jpg';
let origin: RunningOrigin;
before(async () => {
  origin = await startOrigin({ ORIGIN_SOURCE: `fs:${CORPUS}`, ORIGIN_SIGNING_KEYS: `${NEW_KEY},${OLD_KEY}` });
});
after(() => origin.close());

const status = async (path: string) => (await rawGet(origin.url, path)).status;

describe('the signing scheme', () => {
  test('HMAC-SHA256 over path and query without sig, base64url without padding', () => {
    const expected = createHmac('sha256', NEW_KEY).update('/a b.jpg?w=400&exp=99').digest('base64url');
    assert.equal(signPathAndQuery('/a b.jpg?w=400&exp=99', NEW_KEY), `/a b.jpg?w=400&exp=99&sig=${expected}`);
    assert.equal(signaturePayload('/a.jpg', 'sig=x&w=1'), '/a.jpg?w=1');
    assert.equal(signaturePayload('/a.jpg', 'sig=x'), '/a.jpg');
    assert.doesNotMatch(expected, /[=+/]/);
  });
});

describe('signed requests through the server', () => {
  test('a valid signature is served; the parameters mean what they say', async () => {
    const r = await rawGet(origin.url, signPathAndQuery(`${PHOTO}?w=300&fm=webp`, NEW_KEY));
    assert.equal(r.status, 200);
    assert.equal((await decode(r.body)).width, 300);
  });

  test('missing, tampered path, tampered parameter and wrong key are 403 with a short public Cache-Control', async () => {
    const good = signPathAndQuery(`${PHOTO}?w=300`, NEW_KEY);
    const cases: [string, string][] = [
      [`${PHOTO}?w=300`, 'SIGNATURE_REQUIRED'],
      [good.replace('evening-glow', 'the-mouse'), 'INVALID_SIGNATURE'],
      [good.replace('w=300', 'w=3000'), 'INVALID_SIGNATURE'],
      [good.replace('w=300', 'w=300&q=10'), 'INVALID_SIGNATURE'],
      [signPathAndQuery(`${PHOTO}?w=300`, 'somebody-elses-key-000'), 'INVALID_SIGNATURE'],
      [`${good}&sig=AAAA`, 'INVALID_SIGNATURE'],
      [`${PHOTO}?w=300&sig=`, 'INVALID_SIGNATURE'],
    ];
    for (const [path, code] of cases) {
      const r = await rawGet(origin.url, path);
      assert.equal(r.status, 403, path);
      assert.equal(jsonError(r).code, code, path);
      assert.equal(r.headers['cache-control'], 'public, max-age=60');
    }
  });

  test('every configured key verifies, so keys rotate without downtime', async () => {
    assert.equal(await status(signPathAndQuery(`${PHOTO}?w=120`, OLD_KEY)), 200);
    assert.equal(await status(signPathAndQuery(`${PHOTO}?w=120`, NEW_KEY)), 200);
  });

  test('exp in the past is 403 expired; in the future it is served', async () => {
    const past = Math.floor(Date.now() / 1000) - 10;
    const future = Math.floor(Date.now() / 1000) + 3600;
    const expired = await rawGet(origin.url, signPathAndQuery(`${PHOTO}?w=120&exp=${past}`, NEW_KEY));
    assert.equal(expired.status, 403);
    assert.equal(jsonError(expired).code, 'SIGNATURE_EXPIRED');
    assert.equal(await status(signPathAndQuery(`${PHOTO}?w=120&exp=${future}`, NEW_KEY)), 200);
    const moved = signPathAndQuery(`${PHOTO}?w=120&exp=${past}`, NEW_KEY).replace(`exp=${past}`, `exp=${future}`);
    assert.equal(await status(moved), 403, 'exp is covered by the signature');
  });

  test('health needs no signature, and /metrics is no image key to sign (404 on this port)', async () => {
    assert.equal(await status('/healthz'), 200);
    assert.equal(await status('/readyz'), 200);
    const metrics = await rawGet(origin.url, '/metrics');
    assert.equal(metrics.status, 404);
    assert.equal(jsonError(metrics).code, 'NOT_FOUND');
  });
});

describe('CLI and URL builder', () => {
  test('`image-origin sign` prints a URL the server accepts, with the key from the environment or --key', async () => {
    const cli = (args: string[], env: Record<string, string> = {}) =>
      execFileSync(process.execPath, ['dist/origin/cli.js', ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, encoding: 'utf8' }).trim();
    const fromEnv = cli(['sign', `${PHOTO}?w=200`], { ORIGIN_SIGNING_KEYS: `${NEW_KEY},${OLD_KEY}` });
    assert.equal(fromEnv, signPathAndQuery(`${PHOTO}?w=200`, NEW_KEY));
    assert.equal(await status(fromEnv), 200);
    const withExpiry = cli(['sign', `${PHOTO}?w=200`, '--key', OLD_KEY, '--expires-in', '600']);
    assert.match(withExpiry, /[?&]exp=\d+&sig=/);
    assert.equal(await status(withExpiry), 200);
    assert.throws(() => cli(['sign', 'no-slash'], { ORIGIN_SIGNING_KEYS: NEW_KEY }), /must start with/);
  });

  test('buildImageUrl round-trips through the real server, signed and with a key needing encoding', async () => {
    const url = buildImageUrl('photos/evening-glow-baseline.jpg', { w: 320, h: 320, fit: 'cover', pos: 'attention', fm: 'webp' }, { signingKey: OLD_KEY, baseUrl: origin.url });
    assert.ok(url.startsWith(`${origin.url}/photos/evening-glow-baseline.jpg?w=320&h=320&fit=cover&pos=attention&fm=webp&sig=`));
    const r = await rawGet(origin.url, url.slice(origin.url.length));
    assert.equal(r.status, 200);
    const d = await decode(r.body);
    assert.deepEqual([d.format, d.width, d.height], ['webp', 320, 320]);
    const cropped = buildImageUrl('photos/evening-glow-baseline.jpg', { crop: [0, 0, 640, 400], preset: 'thumb', fm: 'png' }, { signingKey: NEW_KEY });
    assert.equal((await rawGet(origin.url, cropped)).status, 400, 'signed, but crop is not overridable with thumb');
    const expiring = buildImageUrl('photos/evening-glow-baseline.jpg', { w: 50 }, { signingKey: NEW_KEY, expiresAt: new Date(Date.now() + 60_000) });
    assert.equal(await status(expiring), 200);
  });

  test('buildSrcset gives one working candidate per width or density', async () => {
    const byWidth = buildSrcset('photos/evening-glow-baseline.jpg', { fm: 'webp' }, { widths: [160, 320] }, { signingKey: NEW_KEY });
    const byDensity = buildSrcset('photos/evening-glow-baseline.jpg', { preset: 'avatar' }, { densities: [1, 2] }, { signingKey: NEW_KEY });
    const candidates = [...byWidth.split(', '), ...byDensity.split(', ')].map((c) => c.split(' ') as [string, string]);
    assert.deepEqual(candidates.map(([, d]) => d), ['160w', '320w', '1x', '2x']);
    const widths = await Promise.all(candidates.map(async ([url]) => (await decode((await rawGet(origin.url, url)).body)).width));
    assert.deepEqual(widths, [160, 320, 96, 192]);
  });
});
