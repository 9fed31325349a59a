/**
 * The origin writes its own metrics in Prometheus' text format (origin/metrics.ts): the samples
 * are checked line by line here, and promtool (Debian's prometheus package) lints the whole
 * exposition, prom-client's process metrics included, as Prometheus would read it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { Counter, createMetrics, Histogram } from '../origin/metrics.js';
import { requireSystem } from '../support/system.js';

const PROMTOOL = '/usr/bin/promtool';
const samples = (text: string) => text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));

describe('metrics', () => {
  test('a counter without labels is 0 before its first count; with labels, one sample per label set', () => {
    const shed = new Counter('shed_total', 'Sheds.');
    assert.deepEqual(samples(shed.text()), ['shed_total 0']);
    shed.inc();
    shed.inc(2);
    assert.deepEqual(samples(shed.text()), ['shed_total 3']);

    const lookups = new Counter('lookups_total', 'Look-ups.', ['tier', 'result']);
    assert.deepEqual(samples(lookups.text()), []);
    lookups.inc({ tier: 'variant', result: 'hit' });
    lookups.inc({ tier: 'variant', result: 'hit' }, 4);
    lookups.inc({ tier: 'original', result: 'miss' });
    assert.deepEqual(samples(lookups.text()), ['lookups_total{tier="variant",result="hit"} 5', 'lookups_total{tier="original",result="miss"} 1']);
    assert.equal(lookups.total(), 6);
    assert.match(lookups.text(), /^# HELP lookups_total Look-ups\.\n# TYPE lookups_total counter\n/);
  });

  test('label values are escaped', () => {
    const odd = new Counter('odd_total', 'Odd.', ['v']);
    odd.inc({ v: 'a"b\\c\nd' });
    assert.deepEqual(samples(odd.text()), ['odd_total{v="a\\"b\\\\c\\nd"} 1']);
  });

  test('a histogram has cumulative buckets up to +Inf, a sum and a count per label set', () => {
    const durations = new Histogram('took_seconds', 'Took.', ['format'], [0.01, 0.1, 1]);
    durations.observe({ format: 'webp' }, 0.005);
    durations.observe({ format: 'webp' }, 0.01);
    durations.observe({ format: 'webp' }, 0.5);
    durations.observe({ format: 'webp' }, 7);
    assert.deepEqual(samples(durations.text()), [
      'took_seconds_bucket{format="webp",le="0.01"} 2',
      'took_seconds_bucket{format="webp",le="0.1"} 2',
      'took_seconds_bucket{format="webp",le="1"} 3',
      'took_seconds_bucket{format="webp",le="+Inf"} 4',
      'took_seconds_sum{format="webp"} 7.515',
      'took_seconds_count{format="webp"} 4',
    ]);
    const plain = new Histogram('plain_seconds', 'Plain.', [], [1]);
    assert.deepEqual(samples(plain.text()), ['plain_seconds_bucket{le="1"} 0', 'plain_seconds_bucket{le="+Inf"} 0', 'plain_seconds_sum 0', 'plain_seconds_count 0']);
  });

  test("the scrape holds the origin's counts, its gauges as read then, and prom-client's process metrics", async () => {
    let waiting = 3;
    const metrics = createMetrics({ queueDepth: () => waiting, inflightTransforms: () => 2 });
    metrics.countRequest(200);
    metrics.countRequest(200);
    metrics.countRequest(304);
    metrics.countCacheLookup('variant', true);
    metrics.transformDuration.observe({ format: 'avif' }, 0.3);
    waiting = 5;
    const text = await metrics.text();
    for (const line of [
      'image_origin_requests_total{status="200"} 2',
      'image_origin_requests_total{status="304"} 1',
      'image_origin_cache_requests_total{tier="variant",result="hit"} 1',
      'image_origin_transform_duration_seconds_count{format="avif"} 1',
      'image_origin_queue_depth 5',
      'image_origin_inflight_transforms 2',
      'image_origin_shed_total 0',
    ]) {
      assert.ok(samples(text).includes(line), `${line} in\n${text}`);
    }
    assert.match(text, /^process_cpu_user_seconds_total \d/m);
    assert.match(text, /^nodejs_heap_size_used_bytes \d/m);
  });

  test('promtool accepts the whole exposition', requireSystem({ file: PROMTOOL, debianPackage: 'prometheus', what: PROMTOOL }), async () => {
    const metrics = createMetrics({ queueDepth: () => 0, inflightTransforms: () => 0 });
    metrics.countRequest(200);
    metrics.requestDuration.observe(0.002);
    metrics.resultStoreRequests.inc({ op: 'get', result: 'hit' });
    const checked = spawnSync(PROMTOOL, ['check', 'metrics'], { input: await metrics.text(), encoding: 'utf8' });
    // Exit 1 is a line Prometheus cannot parse; 3 lists lint problems, one per line, by metric name.
    // prom-client names three of its gauges `…_total` (nodejs_active_handles_total), which promtool
    // flags; nothing of the origin's may be flagged.
    const problems = `${checked.stdout}${checked.stderr}`.split('\n').filter((line) => line !== '');
    assert.ok(checked.status === 0 || checked.status === 3, `promtool exit ${checked.status}: ${problems.join('\n')}`);
    assert.deepEqual(problems.filter((line) => !/^nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/.test(line)), []);
  });
});
