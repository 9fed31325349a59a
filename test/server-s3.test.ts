/**
 * The whole origin against a real S3-API server (s3rver on loopback): the README's promise that
 * pointing ORIGIN_SOURCE at a bucket serves it, with storage failures mapped to 404/502 and
 * never cached.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decode } from './helpers/images.js';
import { jsonError, rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { CORPUS } from '../support/paths.js';
import { startS3rver, type RunningS3rver } from '../support/s3rver.js';

let s3: RunningS3rver;
let origin: RunningOrigin;
const KEY = 'users/42/my photo+1 été.jpg';

before(async () => {
  const photo = await readFile(path.join(CORPUS, 'photos/evening-glow-baseline.jpg'));
  s3 = await startS3rver({ objects: { [`media/${KEY}`]: photo, 'outside-prefix.jpg': photo } });
  // In-memory tiers off, so a replaced object shows at once (the tiers keep it for their TTL).
  origin = await startOrigin({ ...s3.env('media'), ORIGIN_ORIGINALS_CACHE_BYTES: '0', ORIGIN_VARIANTS_CACHE_BYTES: '0' });
});
after(async () => {
  await origin.close();
  await s3.close();
});

const encodedKey = `/${KEY.split('/').map(encodeURIComponent).join('/')}`;

describe('origin with an s3:// source', () => {
  test('serves a resized WebP from the bucket with cacheable headers', async () => {
    const r = await rawGet(origin.url, `${encodedKey}?w=400&fm=webp`);
    assert.equal(r.status, 200, r.body.toString().slice(0, 300));
    assert.equal(r.headers['content-type'], 'image/webp');
    assert.match(String(r.headers['cache-control']), /^public, max-age=\d+/);
    const d = await decode(r.body);
    assert.deepEqual([d.format, d.width, d.height], ['webp', 400, 250]);
  });

  test('a revalidation is answered 304 after a HEAD, without fetching the object', async () => {
    const first = await rawGet(origin.url, `${encodedKey}?w=300&fm=jpeg`);
    const fetches = origin.calls.fetch;
    const r = await rawGet(origin.url, `${encodedKey}?w=300&fm=jpeg`, { 'if-none-match': String(first.headers.etag) });
    assert.equal(r.status, 304);
    assert.equal(origin.calls.fetch, fetches);
  });

  test('the ETag follows the object: replacing it changes the ETag', async () => {
    const before = await rawGet(origin.url, `${encodedKey}?w=64&fm=png`);
    await s3.put(`media/${KEY}`, await readFile(path.join(CORPUS, 'photos/colorful-cups-progressive.jpg')));
    const afterPut = await rawGet(origin.url, `${encodedKey}?w=64&fm=png`, { 'if-none-match': String(before.headers.etag) });
    assert.equal(afterPut.status, 200);
    assert.notEqual(afterPut.headers.etag, before.headers.etag);
  });

  test('a missing key is 404; keys outside the prefix are unreachable', async () => {
    for (const p of ['/nope.jpg', '/outside-prefix.jpg']) {
      const r = await rawGet(origin.url, p);
      assert.equal(r.status, 404, p);
      assert.equal(jsonError(r).code, 'NOT_FOUND');
    }
  });

  test('an unknown access key is a 502 with no-store, never a 200 or a 404', async () => {
    const logLines: string[] = [];
    const wrong = await startOrigin(
      { ...s3.env('media'), AWS_ACCESS_KEY_ID: 'NOT-A-KEY', AWS_SECRET_ACCESS_KEY: 'very-secret-value' },
      { write: (line) => void logLines.push(line) },
    );
    try {
      for (const headers of [{}, { 'if-none-match': '"x"' }] as Record<string, string>[]) {
        const r = await rawGet(wrong.url, `${encodedKey}?w=100`, headers);
        assert.equal(r.status, 502);
        assert.equal(r.headers['cache-control'], 'no-store');
        assert.doesNotMatch(r.body.toString(), /very-secret-value|NOT-A-KEY|127\.0\.0\.1/);
      }
      const errors = logLines.filter((l) => l.includes('"level":50'));
      assert.equal(errors.length, 2);
      assert.ok(errors.every((l) => l.includes('source configuration error') && l.includes('InvalidAccessKeyId')));
      assert.doesNotMatch(logLines.join('\n'), /very-secret-value/, 'the secret never reaches the log');
    } finally {
      await wrong.close();
    }
  });

  test('a storage that is down is a 502 with no-store', async () => {
    const down = await startOrigin({ ...s3.env('media'), S3_ENDPOINT: 'http://127.0.0.1:9' });
    try {
      const r = await rawGet(down.url, `${encodedKey}?w=100`);
      assert.equal(r.status, 502);
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.equal(jsonError(r).code, 'SOURCE_UNAVAILABLE');
    } finally {
      await down.close();
    }
  });
});
