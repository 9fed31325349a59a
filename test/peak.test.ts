/**
 * Peak-traffic behaviour through the real server on loopback: coalescing (read from /metrics),
 * the in-memory tiers, shedding with Retry-After, degrading under pressure, and client hang-ups.
 * No timing thresholds: only counts, statuses, headers and decoded images.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { decode } from './helpers/images.js';
import { metricSum, metricValue, rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { readCorpus } from '../support/corpus.js';
import { CORPUS } from '../support/paths.js';

let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'origin-peak-'));
  await mkdir(path.join(root, 'p'));
  for (let i = 0; i < 12; i++) await copyFile(path.join(CORPUS, 'photos/evening-glow-baseline.jpg'), path.join(root, 'p', `${i}.jpg`));
  await writeFile(path.join(root, 'big.jpg'), await readCorpus('photos/the-mouse-3840x2400.jpg'));
});

async function withOrigin(env: Record<string, string>, run: (origin: RunningOrigin) => Promise<void>): Promise<void> {
  const origin = await startOrigin({ ORIGIN_SOURCE: `fs:${root}`, ...env });
  try {
    await run(origin);
  } finally {
    await origin.close();
  }
}

const AVIF_CLIENT = { accept: 'image/avif,image/webp,*/*' };

describe('coalescing', () => {
  test('50 concurrent identical cold requests make 1 fetch and 1 transform, and get identical answers', async () => {
    await withOrigin({}, async (origin) => {
      const responses = await Promise.all(Array.from({ length: 50 }, () => rawGet(origin.url, '/big.jpg?w=1200&fm=avif')));
      assert.ok(responses.every((r) => r.status === 200));
      assert.equal(new Set(responses.map((r) => r.body.toString('base64'))).size, 1, 'identical bodies');
      assert.equal(new Set(responses.map((r) => `${r.headers.etag} ${r.headers['content-length']} ${r.headers['cache-control']}`)).size, 1);
      const text = await origin.metrics();
      assert.equal(metricValue(text, 'image_origin_source_fetches_total{result="ok"}'), 1);
      assert.equal(metricValue(text, 'image_origin_transforms_total{format="avif"}'), 1);
      assert.equal(origin.calls.fetch, 1);
      assert.ok(metricSum(text, 'image_origin_coalesced_total') + metricValue(text, 'image_origin_cache_requests_total{tier="variant",result="hit"}') >= 49);
      assert.equal(metricValue(text, 'image_origin_new_variants_total'), 1);
    });
  });

  test('20 concurrent requests for 20 widths of one original make 1 source fetch', async () => {
    await withOrigin({}, async (origin) => {
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => rawGet(origin.url, `/p/0.jpg?w=${100 + i * 10}&fm=webp`)));
      for (const [i, r] of responses.entries()) {
        assert.equal(r.status, 200);
        assert.equal((await decode(r.body)).width, 100 + i * 10);
      }
      const text = await origin.metrics();
      assert.equal(metricValue(text, 'image_origin_source_fetches_total{result="ok"}'), 1);
      assert.equal(metricValue(text, 'image_origin_transforms_total{format="webp"}'), 20);
      assert.equal(metricValue(text, 'image_origin_new_variants_total'), 20);
    });
  });

  test('a client that hangs up does not break the answers of those waiting on the same work', async () => {
    await withOrigin({ ORIGIN_TRANSFORM_CONCURRENCY: '1' }, async (origin) => {
      const quitter = new AbortController();
      const url = `${origin.url}/big.jpg?w=2000&fm=avif`;
      const gaveUp = fetch(url, { signal: quitter.signal }).catch((e: Error) => e.name);
      const stayers = Array.from({ length: 3 }, () => rawGet(origin.url, '/big.jpg?w=2000&fm=avif'));
      setTimeout(() => quitter.abort(), 30);
      assert.equal(await gaveUp, 'AbortError');
      const answers = await Promise.all(stayers);
      assert.deepEqual(answers.map((r) => r.status), [200, 200, 200]);
      assert.equal((await decode(answers[0]!.body)).format, 'avif');
      assert.equal(metricValue(await origin.metrics(), 'image_origin_transforms_total{format="avif"}'), 1);
    });
  });

  test('work nobody waits for any more is dropped before it starts', async () => {
    await withOrigin({ ORIGIN_TRANSFORM_CONCURRENCY: '1' }, async (origin) => {
      const busy = rawGet(origin.url, '/big.jpg?w=2400&fm=avif'); // holds the only slot
      await waitFor(async () => metricValue(await origin.metrics(), 'image_origin_inflight_transforms') === 1);
      const quitter = new AbortController();
      const queued = fetch(`${origin.url}/p/1.jpg?w=333&fm=png`, { signal: quitter.signal }).catch((e: Error) => e.name);
      await waitFor(async () => metricValue(await origin.metrics(), 'image_origin_queue_depth') === 1);
      quitter.abort();
      assert.equal(await queued, 'AbortError');
      await waitFor(async () => metricValue(await origin.metrics(), 'image_origin_queue_depth') === 0);
      assert.equal((await busy).status, 200);
      const text = await origin.metrics();
      assert.equal(metricValue(text, 'image_origin_transforms_total{format="png"}'), 0, 'the abandoned transform never ran');
      assert.equal(metricValue(text, 'image_origin_requests_total{status="499"}'), 1);
    });
  });
});

describe('memory budget', () => {
  const MEMORY_WAITS = 'image_origin_transform_memory_waits_total';
  const parallel = (origin: RunningOrigin, queries: readonly string[]) =>
    Promise.all(queries.map((q) => rawGet(origin.url, `/big.jpg?${q}`, AVIF_CLIENT)));

  test('large AVIF encodes past ORIGIN_TRANSFORM_MEMORY_BYTES wait although slots are free, and are all served', async () => {
    await withOrigin({ ORIGIN_TRANSFORM_CONCURRENCY: '3', ORIGIN_TRANSFORM_MEMORY_BYTES: String(16 * 2 ** 20) }, async (origin) => {
      const answers = await parallel(origin, ['w=1800', 'w=1900', 'w=2000']);
      assert.deepEqual(answers.map((r) => r.status), [200, 200, 200]);
      assert.deepEqual(await Promise.all(answers.map(async (r) => (await decode(r.body)).width)), [1800, 1900, 2000]);
      assert.ok(metricValue(await origin.metrics(), MEMORY_WAITS) >= 1, 'each would take about 70 MB');
    });
  });

  test('small outputs fit the same budget together, and a large budget never holds a transform back', async () => {
    await withOrigin({ ORIGIN_TRANSFORM_CONCURRENCY: '3', ORIGIN_TRANSFORM_MEMORY_BYTES: String(16 * 2 ** 20) }, async (origin) => {
      assert.deepEqual((await parallel(origin, ['w=100', 'w=110', 'w=120'])).map((r) => r.status), [200, 200, 200]);
      assert.equal(metricValue(await origin.metrics(), MEMORY_WAITS), 0);
    });
    await withOrigin({ ORIGIN_TRANSFORM_CONCURRENCY: '3', ORIGIN_TRANSFORM_MEMORY_BYTES: String(4 * 2 ** 30) }, async (origin) => {
      assert.deepEqual((await parallel(origin, ['w=1800', 'w=1900', 'w=2000'])).map((r) => r.status), [200, 200, 200]);
      assert.equal(metricValue(await origin.metrics(), MEMORY_WAITS), 0);
    });
  });
});

describe('in-memory tiers', () => {
  test('a kept variant answers 200 and 304 with no source access at all', async () => {
    await withOrigin({}, async (origin) => {
      const first = await rawGet(origin.url, '/p/2.jpg?w=300&fm=webp');
      const calls = { ...origin.calls };
      const again = await rawGet(origin.url, '/p/2.jpg?w=300&fm=webp');
      assert.equal(again.status, 200);
      assert.equal(again.headers.etag, first.headers.etag);
      assert.match(String(again.headers['server-timing']), /cache;desc=hit/);
      const revalidated = await rawGet(origin.url, '/p/2.jpg?w=300&fm=webp', { 'if-none-match': String(first.headers.etag) });
      assert.equal(revalidated.status, 304);
      assert.deepEqual(origin.calls, calls, 'neither a stat nor a fetch');
    });
  });

  test('the originals tier serves new variants of a recent original without fetching it again', async () => {
    await withOrigin({}, async (origin) => {
      for (const w of [200, 210, 220]) assert.equal((await rawGet(origin.url, `/p/3.jpg?w=${w}`)).status, 200);
      const text = await origin.metrics();
      assert.equal(origin.calls.fetch, 1);
      assert.equal(metricValue(text, 'image_origin_cache_requests_total{tier="original",result="hit"}'), 2);
    });
  });

  test('entries larger than their share of a tier are served but not kept', async () => {
    // The 1.4 MB original is over 10% of a 4 MB originals tier; the small variants are not.
    await withOrigin({ ORIGIN_ORIGINALS_CACHE_BYTES: String(4_000_000) }, async (origin) => {
      await rawGet(origin.url, '/big.jpg?w=100');
      await rawGet(origin.url, '/big.jpg?w=101');
      assert.equal(origin.calls.fetch, 2);
      await rawGet(origin.url, '/big.jpg?w=100');
      assert.equal(origin.calls.fetch, 2, 'the variant itself was kept');
    });
  });

  test('after the TTL a replaced source is fetched again', async () => {
    await withOrigin({ ORIGIN_CACHE_TTL_SECONDS: '1' }, async (origin) => {
      await rawGet(origin.url, '/p/4.jpg?w=90');
      await new Promise((r) => setTimeout(r, 1100));
      await rawGet(origin.url, '/p/4.jpg?w=90');
      assert.equal(origin.calls.fetch, 2);
    });
  });
});

describe('overload', () => {
  test('beyond concurrency + queue: fast 503s with Retry-After, every other answer a correct image, /healthz alive', async () => {
    await withOrigin({ ORIGIN_TRANSFORM_CONCURRENCY: '1', ORIGIN_TRANSFORM_QUEUE: '2', ORIGIN_DEGRADE_QUEUE_DEPTH: '0' }, async (origin) => {
      const requests = Array.from({ length: 24 }, (_, i) => rawGet(origin.url, `/p/${i % 12}.jpg?w=${400 + i}&fm=avif`));
      const health = await rawGet(origin.url, '/healthz');
      const responses = await Promise.all(requests);
      assert.equal(health.status, 200);
      const shed = responses.filter((r) => r.status === 503);
      const served = responses.filter((r) => r.status === 200);
      assert.ok(shed.length > 0, 'some requests were shed');
      assert.equal(shed.length + served.length, responses.length, `statuses: ${responses.map((r) => r.status)}`);
      for (const r of shed) {
        assert.equal(r.headers['retry-after'], '1');
        assert.equal(r.headers['cache-control'], 'no-store');
        assert.equal(JSON.parse(r.body.toString()).error.code, 'OVERLOADED');
      }
      for (const r of served) assert.equal((await decode(r.body)).format, 'avif');
      const text = await origin.metrics();
      assert.equal(metricValue(text, 'image_origin_shed_total'), shed.length);
      assert.equal(metricValue(text, 'image_origin_source_fetches_total{result="ok"}') <= served.length, true, 'shed requests never touched the source');
      assert.equal((await rawGet(origin.url, '/healthz')).status, 200);
    });
  });

  test('under pressure new variants are made the cheap way: WebP for AVIF clients, short Cache-Control', async () => {
    await withOrigin({ ORIGIN_TRANSFORM_CONCURRENCY: '1', ORIGIN_TRANSFORM_QUEUE: '64', ORIGIN_DEGRADE_QUEUE_DEPTH: '1' }, async (origin) => {
      const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => rawGet(origin.url, `/p/${i}.jpg?w=${500 + i}`, AVIF_CLIENT)));
      assert.ok(responses.every((r) => r.status === 200));
      const degraded = responses.filter((r) => r.headers['cache-control'] === 'public, max-age=60');
      assert.ok(degraded.length > 0, 'some responses were degraded');
      for (const r of degraded) {
        assert.equal(r.headers['content-type'], 'image/webp');
        assert.equal(r.headers.vary, 'Accept, X-Image-Format-Token');
        assert.equal((await decode(r.body)).format, 'webp');
      }
      for (const r of responses.filter((x) => !degraded.includes(x))) {
        assert.equal(r.headers['content-type'], 'image/avif');
        assert.match(String(r.headers['cache-control']), /max-age=31536000/);
      }
      assert.equal(metricValue(await origin.metrics(), 'image_origin_degraded_total'), degraded.length);
    });
  });

  test('a request past its deadline is a 503, and the process carries on', async () => {
    await withOrigin({ ORIGIN_REQUEST_DEADLINE_MS: '1', ORIGIN_ORIGINALS_CACHE_BYTES: '0' }, async (origin) => {
      const r = await rawGet(origin.url, '/big.jpg?w=1500&fm=avif');
      assert.equal(r.status, 503);
      assert.equal(r.headers['retry-after'], '1');
      assert.equal((await rawGet(origin.url, '/healthz')).status, 200);
    });
  });
});

describe('metrics', () => {
  test('/metrics serves every documented metric in Prometheus text format, never shed', async () => {
    // Over HTTP on the main port (opt-in, with a token); the metrics port serves the same route.
    const token = 'metrics-token-0123456789';
    await withOrigin({ ORIGIN_METRICS_ON_MAIN_PORT: 'true', ORIGIN_METRICS_TOKEN: token }, async (origin) => {
      await rawGet(origin.url, '/p/5.jpg?w=120');
      const r = await rawGet(origin.url, '/metrics', { authorization: `Bearer ${token}` });
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const text = r.body.toString();
      for (const name of [
        'image_origin_requests_total', 'image_origin_request_duration_seconds_bucket', 'image_origin_source_fetches_total',
        'image_origin_source_fetch_duration_seconds_bucket', 'image_origin_transforms_total', 'image_origin_transform_duration_seconds_bucket',
        'image_origin_cache_requests_total', 'image_origin_coalesced_total', 'image_origin_queue_depth', 'image_origin_inflight_transforms',
        'image_origin_degraded_total', 'image_origin_shed_total', 'image_origin_new_variants_total', 'process_resident_memory_bytes',
      ]) {
        assert.match(text, new RegExp(`^# TYPE ${name.replace(/_bucket$/, '')} `, 'm'), name);
      }
      assert.equal(metricValue(text, 'image_origin_requests_total{status="200"}'), 1);
    });
  });
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached');
}
