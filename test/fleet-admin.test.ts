/**
 * The admin port against real parts: s3rver with a source bucket and a results bucket, origins
 * sharing that result store. Events pre-render into the store (a fresh replica then serves with
 * no transform), a re-delivered event does nothing twice, a full queue is a 503 with Retry-After,
 * a removed object and a purge take every variant away, and a block made on one replica is seen
 * by the other within its refresh interval.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROJECT_ROOT } from '../support/paths.js';
import { startS3rver, type RunningS3rver } from '../support/s3rver.js';
import { until } from './helpers/child-processes.js';
import { decode } from './helpers/images.js';
import { jsonError, metricSum, metricValue, rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';

const TOKEN = 'admin-token-for-tests-0123456789';
const AWKWARD = 'photos/My Photo + été 写真.jpg';
const AWKWARD_PATH = '/photos/My%20Photo%20%2B%20%C3%A9t%C3%A9%20%E5%86%99%E7%9C%9F.jpg';

let s3: RunningS3rver;
let photo: Buffer;

before(async () => {
  photo = await readFile(path.join(PROJECT_ROOT, 'samples', 'evening-glow.jpg'));
  s3 = await startS3rver({ bucket: 'images', otherBuckets: ['results'], objects: { [AWKWARD]: photo, 'photos/b.jpg': photo, 'photos/c.jpg': photo, 'photos/d.jpg': photo, 'logo.png': photo } });
});
after(async () => s3?.close());

interface Admin {
  readonly origin: RunningOrigin;
  readonly adminUrl: string;
  post(path: string, body: unknown, token?: string): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

async function startAdmin(extra: Record<string, string> = {}): Promise<Admin> {
  const origin = await startOrigin({
    ...s3.env(),
    ORIGIN_RESULT_STORE: 's3://results/fleet',
    ORIGIN_ADMIN_PORT: '1', // any port turns it on; the test listens on an ephemeral one
    ORIGIN_ADMIN_TOKEN: TOKEN,
    ORIGIN_PRERENDER: 'thumb',
    ...extra,
  });
  const admin = origin.origin.admin!;
  await admin.listen({ host: '127.0.0.1', port: 0 });
  const adminUrl = `http://127.0.0.1:${(admin.server.address() as AddressInfo).port}`;
  return {
    origin,
    adminUrl,
    async post(route, body, token = TOKEN) {
      const res = await fetch(`${adminUrl}${route}`, {
        method: 'POST',
        headers: { ...(token && { authorization: `Bearer ${token}` }), 'content-type': 'text/plain; charset=UTF-8' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
    },
    close: () => origin.close(),
  };
}

/** An S3 event record for `key` in the source bucket, from the documented sample. */
async function s3Event(eventName: string, keys: readonly string[], bucket = 'images'): Promise<string> {
  const sample = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'test', 'fixtures', 'events', 's3-put.json'), 'utf8')) as { Records: Record<string, unknown>[] };
  const template = sample.Records[0]!;
  const formKey = (key: string) => encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
  const records = keys.map((key) => ({
    ...template,
    eventName,
    s3: { ...(template['s3'] as object), bucket: { name: bucket }, object: { key: formKey(key), eTag: `etag-${key.length}`, size: photo.byteLength } },
  }));
  return JSON.stringify({ Records: records });
}

const storedFor = async (fragment: string) => (await s3.listKeys('results')).filter((k) => k.includes(fragment));

describe('the admin port', () => {
  let admin: Admin;
  before(async () => (admin = await startAdmin()));
  after(async () => admin?.close());

  test('refuses requests without the token, or with a wrong one: 401', async () => {
    for (const token of ['', 'wrong-token-wrong-token-wrong']) {
      const res = await admin.post('/purge', { keys: ['photos/b.jpg'] }, token);
      assert.equal(res.status, 401);
      assert.equal((res.body['error'] as { code: string }).code, 'ADMIN_AUTH_REQUIRED');
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="admin"');
    }
    const malformed = await admin.post('/purge', 'not json');
    assert.equal(malformed.status, 400);
    const traversal = await admin.post('/purge', { keys: ['../etc/passwd'] });
    assert.equal(traversal.status, 400);
  });

  test('a created object is pre-rendered into the store; a fresh replica then serves it with no transform', async () => {
    const res = await admin.post('/events', await s3Event('ObjectCreated:Put', [AWKWARD]));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body['queued'], 1);
    await admin.origin.origin.prerender!.idle();
    const text = await admin.origin.metrics();
    // thumb lets clients set dpr: 3 format tokens × 4 DPR steps.
    assert.equal(metricValue(text, 'image_origin_prerender_total{result="done"}'), 12);
    assert.equal(metricSum(text, 'image_origin_transforms_total'), 12);
    assert.equal((await storedFor('/my-photo-')).length, 12, 'twelve results under the key\'s folder');

    const fresh = await startOrigin({ ...s3.env(), ORIGIN_RESULT_STORE: 's3://results/fleet' });
    try {
      for (const [token, format] of [['avif', 'avif'], ['webp', 'webp'], ['legacy', 'jpeg']] as const) {
        const served = await rawGet(fresh.url, `${AWKWARD_PATH}?preset=thumb&dpr=2`, { 'x-image-format-token': token });
        assert.equal(served.status, 200, served.body.toString());
        const image = await decode(served.body);
        assert.deepEqual([image.width, image.height, image.format], [400, 400, format]);
      }
      assert.equal(metricSum(await fresh.metrics(), 'image_origin_transforms_total'), 0, 'every variant came from the store');
    } finally {
      await fresh.close();
    }

    // Re-delivered: nothing is done twice.
    const again = await admin.post('/events', await s3Event('ObjectCreated:Put', [AWKWARD]));
    assert.equal(again.status, 202);
    assert.equal(again.body['duplicate'], 1);
    await admin.origin.origin.prerender!.idle();
    assert.equal(metricSum(await admin.origin.metrics(), 'image_origin_transforms_total'), 12);
  });

  test('events about another bucket are ignored and counted', async () => {
    const res = await admin.post('/events', await s3Event('ObjectCreated:Put', ['photos/b.jpg'], 'someone-else'));
    assert.equal(res.status, 202);
    assert.equal(res.body['ignored'], 1);
    assert.equal(metricValue(await admin.origin.metrics(), 'image_origin_prerender_total{result="ignored"}'), 1);
  });

  test('a removed object purges its variants from the store and this replica', async () => {
    assert.ok((await storedFor('/my-photo-')).length > 0);
    const served = await rawGet(admin.origin.url, `${AWKWARD_PATH}?w=50&fm=png`);
    assert.equal(served.status, 200);
    await until('the w=50 result to be written', async () => ((await storedFor('/my-photo-')).length === 13 ? true : undefined));
    const res = await admin.post('/events', await s3Event('ObjectRemoved:Delete', [AWKWARD]));
    assert.equal(res.status, 202);
    // 13 stored results, and this replica's memory copies of the pre-rendered and the w=50 variants.
    assert.ok(Number(res.body['purged']) >= 13, `purged ${String(res.body['purged'])}`);
    assert.deepEqual(await storedFor('/my-photo-'), []);
  });

  test('POST /purge reports what it removed', async () => {
    const served = await rawGet(admin.origin.url, '/photos/b.jpg?w=60&fm=webp');
    assert.equal(served.status, 200);
    await until('the result to be written', async () => ((await storedFor('/b.jpg-')).length === 1 ? true : undefined));
    const res = await admin.post('/purge', { keys: ['photos/b.jpg'] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body['purged'], [{ key: 'photos/b.jpg', memory: 1, original: true, stored: 1 }]);
    assert.deepEqual(await storedFor('/b.jpg-'), []);
  });
});

describe('a full pre-render queue', () => {
  test('answers the event 503 with Retry-After, and the re-delivery completes it', async () => {
    const admin = await startAdmin({ ORIGIN_PRERENDER_QUEUE: '1', ORIGIN_RESULT_STORE: 's3://results/queue' });
    try {
      const event = await s3Event('ObjectCreated:Put', ['photos/b.jpg', 'photos/c.jpg', 'photos/d.jpg']);
      const res = await admin.post('/events', event);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '30');
      assert.equal((res.body['error'] as { code: string }).code, 'PRERENDER_QUEUE_FULL');
      await admin.origin.origin.prerender!.idle();
      const retried = await admin.post('/events', event);
      assert.equal(retried.status, 202, JSON.stringify(retried.body));
      assert.equal(retried.body['queued'], 1, 'only the key refused before is queued now');
      assert.equal(retried.body['duplicate'], 2);
    } finally {
      await admin.close();
    }
  });
});

describe('takedown across replicas', () => {
  test('a block on one replica is seen by the other within its refresh interval; unblock reverses it', async () => {
    const env = { ORIGIN_RESULT_STORE: 's3://results/block', ORIGIN_BLOCKLIST_REFRESH_S: '1' };
    const [one, two] = [await startAdmin(env), await startAdmin({ ...env, ORIGIN_FALLBACK: 'logo.png' })];
    try {
      const url = '/photos/c.jpg?w=80&fm=webp';
      assert.equal((await rawGet(two.origin.url, url)).status, 200, 'the other replica holds the variant');
      const res = await one.post('/block', { keys: ['photos/c.jpg'], reason: 'moderation ticket 42' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body['fleetWide'], true);

      const refused = await rawGet(one.origin.url, url);
      assert.equal(refused.status, 451);
      assert.equal(jsonError(refused).code, 'BLOCKED');
      // The other replica, configured with a fallback image, answers that instead, never the original.
      const fallback = await until('the block to reach the other replica', async () => {
        const answer = await rawGet(two.origin.url, url);
        return answer.headers['x-image-fallback'] === '1' ? answer : undefined;
      });
      assert.equal(fallback.status, 404);
      assert.ok(metricValue(await two.origin.metrics(), 'image_origin_blocked_requests_total') >= 1);
      assert.ok(metricValue(await two.origin.metrics(), 'image_origin_purged_total') >= 1, 'the other replica dropped its own copy');

      const lifted = await one.post('/unblock', { keys: ['photos/c.jpg'] });
      assert.equal(lifted.status, 200);
      assert.equal((await rawGet(one.origin.url, url)).status, 200);
      await until('the unblock to reach the other replica', async () => ((await rawGet(two.origin.url, url)).headers['x-image-fallback'] === undefined ? true : undefined));
    } finally {
      await one.close();
      await two.close();
    }
  });
});
