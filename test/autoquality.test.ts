/**
 * Autoquality: the search for the lowest quality meeting a target, the probe on a real photo,
 * the record kept with the original (plain data, measured once), and the pipeline asking it only
 * when the request fixed no quality.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { readCorpus } from '../support/corpus.js';
import { autoQualityLookup, createAutoQualityRecord } from '../origin/load/autoquality.js';
import { loadConfig } from '../origin/config.js';
import { runPipeline } from '../transforms/pipeline.js';
import { makeProbe, MAX_PROBE_ENCODES, PROBE_PIXELS, probeScore, searchQuality } from '../transforms/quality/probe-quality.js';
import { calibratedQuality } from '../transforms/quality/calibration.js';
import { specFor } from './helpers/specs.js';

const config = loadConfig({});
const limits = config.limits;

describe('searchQuality', () => {
  // A made-up monotone curve: score = quality - 10.
  const linear = (calls: number[]) => async (q: number) => {
    calls.push(q);
    return q - 10;
  };
  // Photos harder or easier than the calibration's median: the answer lies `shift` points from the guess.
  const guess = calibratedQuality('webp', 77);
  for (const shift of [-14, -6, -1, 0, 3, 9, 15]) {
    test(`finds the lowest quality meeting the target ${shift} points from the guess in ${MAX_PROBE_ENCODES} encodes`, async () => {
      const ideal = guess + shift;
      const calls: number[] = [];
      const curve = async (q: number) => (calls.push(q), 77 + (q - ideal) * 0.7);
      const result = await searchQuality('webp', 77, { min: 40, max: 95 }, curve);
      assert.ok(calls.length <= MAX_PROBE_ENCODES, `${calls.length} encodes`);
      assert.ok(result.quality >= ideal && result.quality <= ideal + 3, `quality ${result.quality}, ideal ${ideal}`);
      assert.deepEqual(await searchQuality('webp', 77, { min: 40, max: 95 }, curve), result, 'deterministic');
    });
  }

  test('clamps to the range: the ceiling when the target is out of reach, the floor when everything meets it', async () => {
    assert.equal((await searchQuality('avif', 99, { min: 35, max: 85 }, linear([]))).quality, 85);
    assert.equal((await searchQuality('jpeg', 10, { min: 50, max: 92 }, linear([]))).quality, 50);
  });
});

describe('probe and lookup on a real photo', async () => {
  const photo = await readCorpus('photos/colorful-cups-progressive.jpg');

  test('the probe is about 0.3 MP, upright, and meets the target at the quality found', async () => {
    const probe = await makeProbe(photo, limits);
    const { width, height } = probe.pixels;
    assert.ok(Math.abs(width * height - PROBE_PIXELS) < PROBE_PIXELS * 0.02, `${width}×${height}`);
    const found = await searchQuality('webp', 77, { min: 50, max: 92 }, (q) => probeScore(probe, 'webp', q));
    assert.ok((found.score ?? (await probeScore(probe, 'webp', found.quality))) >= 77);
    assert.ok(found.quality > 50 && found.quality < 92, `quality ${found.quality}`);
  });

  test('the lookup measures once per format and target and keeps plain data on the record', async () => {
    const record = createAutoQualityRecord('etag-1');
    const lookup = autoQualityLookup(record, photo, config.quality, limits);
    assert.ok(lookup);
    const [a, b] = await Promise.all([lookup('avif', 77), lookup('avif', 77)]);
    assert.equal(a, b);
    const entry = record.entries[77]?.avif;
    assert.ok(entry && entry.quality === a && entry.encodes <= MAX_PROBE_ENCODES);
    assert.equal(await lookup('avif', 77), a);
    assert.equal(record.entries[77]?.avif, entry, 'not measured again');
    assert.deepEqual(JSON.parse(JSON.stringify(record)), record, 'plain data');
    assert.ok(record.probe && record.probe.width > 0);
    const { ranges } = config.quality;
    assert.ok(a! >= ranges.avif.min && a! <= ranges.avif.max);
  });

});

describe('the pipeline and autoquality', async () => {
  const photo = await readCorpus('photos/evening-glow-baseline.jpg');
  const quality = async (bytes: Buffer) => (await sharp(bytes).metadata()).format;

  test('without a fixed quality the image is encoded at the quality autoquality names', async () => {
    const asked: string[] = [];
    const spec = specFor('w=400&fm=webp', 'legacy', undefined, { qualityTarget: config.quality.target, autoQuality: true });
    assert.equal(spec.tq, config.quality.target);
    assert.equal(spec.aq, true);
    const low = await runPipeline(photo, spec, limits, { qualityFor: async (format, target) => (asked.push(`${format}@${target}`), 30) });
    const high = await runPipeline(photo, spec, limits, { qualityFor: async () => 95 });
    assert.deepEqual(asked, [`webp@${config.quality.target}`]);
    assert.ok(low.data.byteLength * 2 < high.data.byteLength, `${low.data.byteLength} vs ${high.data.byteLength}`);
    assert.equal(await quality(low.data), 'webp');
  });

  test('without aq (ORIGIN_AUTOQUALITY off, no preset asking) the calibrated quality is used', async () => {
    const spec = specFor('w=400&fm=webp', 'legacy', undefined, { qualityTarget: 77, autoQuality: false });
    assert.equal(spec.aq, undefined);
    await runPipeline(photo, spec, limits, { qualityFor: async () => assert.fail('asked without aq') });
  });

  test('an explicit q wins: autoquality is not asked', async () => {
    const spec = specFor('w=400&fm=webp&q=60', 'legacy', undefined, { autoQuality: true });
    assert.equal(spec.tq, undefined);
    assert.equal(spec.aq, undefined);
    await runPipeline(photo, spec, limits, { qualityFor: async () => assert.fail('asked despite q=60') });
  });
});

describe('configuration', () => {
  test('defaults, and bad values refused naming the variable', () => {
    assert.equal(config.quality.target, 77);
    assert.deepEqual(config.quality.ranges.avif, { min: 35, max: 85 });
    assert.equal(config.quality.autoQuality, false);
    assert.equal(loadConfig({ ORIGIN_AUTOQUALITY: 'true' }).quality.autoQuality, true);
    assert.deepEqual(loadConfig({ ORIGIN_QUALITY_RANGES: 'avif:40-70,webp:60-90,jpeg:60-90' }).quality.ranges.avif, { min: 40, max: 70 });
    for (const [name, value] of [
      ['ORIGIN_QUALITY_TARGET', '101'],
      ['ORIGIN_QUALITY_TARGET', '20'],
      ['ORIGIN_QUALITY_RANGES', 'avif:40-70'],
      ['ORIGIN_QUALITY_RANGES', 'avif:70-40,webp:60-90,jpeg:60-90'],
      ['ORIGIN_QUALITY_RANGES', 'avif:40-70,avif:40-70,webp:60-90,jpeg:60-90'],
    ] as const) {
      assert.throws(() => loadConfig({ [name]: value }), (error: Error) => error.message.includes(name), `${name}=${value}`);
    }
  });
});
