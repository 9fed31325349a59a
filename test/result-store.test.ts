/**
 * The result store against real parts: s3rver with a source bucket and a results bucket, the
 * origin as its own process. A result outlives the process that made it (the next process serves
 * it with no transform), a replaced original gets a new result, and a store that resets, stalls
 * or answers 500 never fails a request.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../support/paths.js';
import { startS3rver, type RunningS3rver } from '../support/s3rver.js';
import { until } from './helpers/child-processes.js';
import { decode } from './helpers/images.js';
import { startLoopbackServer, type LoopbackServer } from './helpers/loopback-server.js';
import { metricSum, metricValue, rawGet, startOrigin } from './helpers/origin.js';
import { startOriginProcess } from './helpers/origin-process.js';
import { resultName, sourceFolder } from '../origin/store/result-key.js';
import type { SourceKey } from '../origin/sources/source.js';
import type { VariantKey } from '../origin/variant-key.js';

const SAMPLE = path.join(PROJECT_ROOT, 'samples', 'evening-glow.jpg');
const CHROME = 'image/avif,image/webp,image/apng,*/*;q=0.8';
const PUT_OK = 'image_origin_result_store_requests_total{op="put",result="ok"}';
const GET_HIT = 'image_origin_result_store_requests_total{op="get",result="hit"}';

let s3: RunningS3rver;
let photo: Buffer;

before(async () => {
  photo = await readFile(SAMPLE);
  s3 = await startS3rver({ bucket: 'images', otherBuckets: ['results'], objects: { 'photos/glow.jpg': photo } });
});
after(async () => s3?.close());

const storeEnv = (extra: Record<string, string> = {}) => ({ ...s3.env(), ORIGIN_RESULT_STORE: 's3://results/v', ...extra });

describe('a result outlives the process that made it', () => {
  test('the second process serves the variant from the store with 0 transforms and the same headers', async () => {
    const url = '/photos/glow.jpg?w=300&fm=auto';
    const first = await startOriginProcess('origin-1', storeEnv());
    let made;
    try {
      made = await rawGet(first.url, url, { accept: CHROME });
      assert.equal(made.status, 200, made.body.toString());
      await until('the result to be written', async () => (metricValue(await first.metrics(), PUT_OK) === 1 ? true : undefined), { child: first.child });
      assert.equal(metricSum(await first.metrics(), 'image_origin_transforms_total'), 1);
    } finally {
      await first.stop();
    }
    const stored = await s3.listKeys('results');
    assert.equal(stored.length, 1, `one result object: ${stored.join(', ')}`);
    assert.match(stored[0]!, /^v\/r1\/glow\.jpg-[0-9a-f]{16}\/[0-9a-f]{32}$/);

    const second = await startOriginProcess('origin-2', storeEnv());
    try {
      const served = await rawGet(second.url, url, { accept: CHROME });
      assert.equal(served.status, 200);
      for (const name of ['etag', 'last-modified', 'cache-control', 'vary', 'content-type', 'x-image-format-token']) {
        assert.equal(served.headers[name], made.headers[name], name);
      }
      const [a, b] = [await decode(made.body), await decode(served.body)];
      assert.deepEqual([b.width, b.height, b.format], [a.width, a.height, a.format]);
      const text = await second.metrics();
      assert.equal(metricSum(text, 'image_origin_transforms_total'), 0, 'no transform in the second process');
      assert.equal(metricValue(text, GET_HIT), 1);

      // Now in its memory tier: no second store read.
      const again = await rawGet(second.url, url, { accept: CHROME });
      assert.equal(again.status, 200);
      assert.equal(metricValue(await second.metrics(), GET_HIT), 1);
      // A conditional request on the stored ETag is a 304.
      const revalidated = await rawGet(second.url, url, { accept: CHROME, 'if-none-match': made.headers.etag as string });
      assert.equal(revalidated.status, 304);
    } finally {
      await second.stop();
    }
  });

  test('fs: keeps results in a folder the same way', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'results-'));
    const env = { ...s3.env(), ORIGIN_RESULT_STORE: `fs:${dir}` };
    try {
      const first = await startOrigin(env);
      const made = await rawGet(first.url, '/photos/glow.jpg?w=200&fm=webp');
      assert.equal(made.status, 200);
      await until('the result to be written', async () => (metricValue(await first.metrics(), PUT_OK) === 1 ? true : undefined));
      await first.close();
      const second = await startOrigin(env);
      const served = await rawGet(second.url, '/photos/glow.jpg?w=200&fm=webp');
      assert.equal(served.status, 200);
      assert.equal(served.headers.etag, made.headers.etag);
      assert.equal(metricSum(await second.metrics(), 'image_origin_transforms_total'), 0);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('result names', () => {
  test('bind the source version and stay short and safe, with a readable prefix', () => {
    const key = 'photos/Été 2024/a+b (1).JPG' as SourceKey;
    const variant = 'v3:photos/x?w=300' as VariantKey;
    const one = resultName(key, variant, '"etag-1"');
    assert.notEqual(one, resultName(key, variant, '"etag-2"'));
    assert.notEqual(one, resultName(key, 'v3:photos/x?w=301' as VariantKey, '"etag-1"'));
    assert.match(one, /^r1\/a-b-1-\.jpg-[0-9a-f]{16}\/[0-9a-f]{32}$|^r1\/a-b-1\.jpg-[0-9a-f]{16}\/[0-9a-f]{32}$/);
    assert.ok(one.startsWith(sourceFolder(key)));
    assert.ok(one.length < 100);
  });
});

describe('replacing the original', () => {
  test('changes the result name: the new original is transformed, never the old result served', async () => {
    await s3.put('photos/replaced.jpg', photo);
    // No memory tiers, so every request goes through the store.
    const env = storeEnv({ ORIGIN_ORIGINALS_CACHE_BYTES: '0', ORIGIN_VARIANTS_CACHE_BYTES: '0' });
    const origin = await startOrigin(env);
    try {
      const url = '/photos/replaced.jpg?w=240&fm=png';
      const before = await rawGet(origin.url, url);
      assert.equal(before.status, 200);
      await until('the result to be written', async () => (metricValue(await origin.metrics(), PUT_OK) >= 1 ? true : undefined));
      const square = await sharp({ create: { width: 500, height: 500, channels: 3, background: '#c03030' } }).jpeg().toBuffer();
      await s3.put('photos/replaced.jpg', square);

      const after = await rawGet(origin.url, url);
      assert.equal(after.status, 200);
      assert.notEqual(after.headers.etag, before.headers.etag);
      const [old, fresh] = [await decode(before.body), await decode(after.body)];
      assert.notEqual(old.height, fresh.height, 'the new (square) original was used');
      assert.equal(fresh.width, 240);
      assert.equal(fresh.height, 240);
      assert.equal(metricSum(await origin.metrics(), 'image_origin_transforms_total'), 2);
      await until('the second result to be written', async () => (metricValue(await origin.metrics(), PUT_OK) >= 2 ? true : undefined));
      const names = (await s3.listKeys('results')).filter((k) => k.includes('/replaced.jpg-'));
      assert.equal(names.length, 2, 'one result per version of the original');
    } finally {
      await origin.close();
    }
  });
});

/** A store that misbehaves on every request, in one of three ways. */
async function brokenStore(how: 'reset' | 'stall' | '500'): Promise<LoopbackServer> {
  return startLoopbackServer((req, res) => {
    if (how === 'reset') req.socket.resetAndDestroy();
    else if (how === '500') res.writeHead(500, { 'content-type': 'application/xml' }).end('<Error><Code>InternalError</Code></Error>');
    // stall: never answers; the origin's timeouts end it
  });
}

describe('a result store outage never fails a request', () => {
  for (const how of ['reset', 'stall', '500'] as const) {
    test(`a store that ${how === '500' ? 'answers 500' : `${how}s`}: every request is answered by a transform`, async () => {
      const store = await brokenStore(how);
      const logged: string[] = [];
      const origin = await startOrigin(
        storeEnv({ RESULT_S3_ENDPOINT: store.origin, ORIGIN_RESULT_STORE_WRITE_TIMEOUT_MS: '500', ORIGIN_VARIANTS_CACHE_BYTES: '0' }),
        { write: (line) => void logged.push(line) },
      );
      try {
        const answers = await Promise.all([100, 120, 140, 100].map((w) => rawGet(origin.url, `/photos/glow.jpg?w=${w}&fm=webp`)));
        for (const answer of answers) assert.equal(answer.status, 200, answer.body.toString());
        assert.deepEqual(await Promise.all(answers.map(async (a) => (await decode(a.body)).width)), [100, 120, 140, 100]);
        await until('the failed writes to be counted', async () => {
          const text = await origin.metrics();
          const failed = ['error', 'timeout'].reduce((n, r) => n + metricValue(text, `image_origin_result_store_requests_total{op="put",result="${r}"}`), 0);
          return failed >= 1 ? text : undefined;
        });
        const text = await origin.metrics();
        const getFailures = ['error', 'timeout'].reduce((n, r) => n + metricValue(text, `image_origin_result_store_requests_total{op="get",result="${r}"}`), 0);
        assert.ok(getFailures >= 3, `store reads counted as failures: ${getFailures}`);
        assert.ok(store.requests.length > 0, 'the origin did ask the store');
        const warnings = logged.filter((l) => l.includes('result store failing'));
        assert.ok(warnings.length >= 1, 'the failure is logged');
        assert.ok(warnings.length < answers.length + 4, 'not once per request and operation');
      } finally {
        await origin.close();
        await store.close();
      }
    });
  }

  test('a store that refuses connections: answered by a transform too', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const origin = await startOrigin(storeEnv({ RESULT_S3_ENDPOINT: `http://127.0.0.1:${port}`, ORIGIN_RESULT_STORE_WRITE_TIMEOUT_MS: '500' }));
    try {
      const answer = await rawGet(origin.url, '/photos/glow.jpg?w=90&fm=webp');
      assert.equal(answer.status, 200);
    } finally {
      await origin.close();
    }
  });
});

describe('the write queue', () => {
  test('drops a write when full, runs the rest, and tells when one has settled', async () => {
    const { createWriteQueue } = await import('../origin/store/write-queue.js');
    const queue = createWriteQueue({ concurrency: 1, maxQueue: 1 });
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    assert.equal(queue.offer('a', async () => (await held, void order.push('a'))), true);
    assert.equal(queue.offer('b', async () => void order.push('b')), true);
    assert.equal(queue.offer('c', async () => void order.push('c')), false, 'the queue of 1 is full');
    assert.equal(queue.offer('b', async () => void order.push('b again')), true, 'the same name already queued is not queued twice');
    assert.equal(queue.depth, 2);
    release();
    await queue.settled('b');
    assert.deepEqual(order, ['a', 'b']);
    await queue.drain();
    assert.equal(queue.depth, 0);
  });
});
