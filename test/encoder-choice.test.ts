/**
 * The operator's encoder settings (ORIGIN_JPEG_ENCODER, ORIGIN_WEBP_EFFORT, ORIGIN_AVIF_EFFORT,
 * ORIGIN_AVIF_BIT_DEPTH): validated at start-up, written into variant keys only when not the
 * defaults (so the defaults keep their keys), and used by the encoder, with economy never costlier
 * than the choice.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../origin/config.js';
import type { SourceKey } from '../origin/sources/source.js';
import { variantKey } from '../origin/variant-key.js';
import { DEFAULT_ENCODERS, encoderOptions, type EncoderChoice } from '../transforms/formats.js';
import { DEFAULT_LIMITS, type TransformLimits } from '../transforms/limits.js';
import { runPipeline } from '../transforms/pipeline.js';
import { PROJECT_ROOT } from '../support/paths.js';
import { decode, imageDistance } from './helpers/images.js';
import { specFor } from './helpers/specs.js';

const CHEAP: EncoderChoice = { jpeg: 'fast', webpEffort: 2, avifEffort: 0, avifBitDepth: 8 };
const limitsWith = (encoders: EncoderChoice): TransformLimits => ({ ...DEFAULT_LIMITS, encoders });

describe('encoder settings', () => {
  test('are read from the environment and refused out of range, naming the variable', () => {
    assert.deepEqual(loadConfig({}, '/srv').limits.encoders, DEFAULT_ENCODERS);
    const config = loadConfig({ ORIGIN_JPEG_ENCODER: 'fast', ORIGIN_WEBP_EFFORT: '6', ORIGIN_AVIF_EFFORT: '4', ORIGIN_AVIF_BIT_DEPTH: '10' }, '/srv');
    assert.deepEqual(config.limits.encoders, { jpeg: 'fast', webpEffort: 6, avifEffort: 4, avifBitDepth: 10 });
    const refused = [['ORIGIN_JPEG_ENCODER', 'turbo'], ['ORIGIN_WEBP_EFFORT', '7'], ['ORIGIN_AVIF_EFFORT', '10'], ['ORIGIN_AVIF_BIT_DEPTH', '12']] as const;
    for (const [name, value] of refused) {
      assert.throws(() => loadConfig({ [name]: value }, '/srv'), (error: unknown) => error instanceof ConfigError && error.problems.some((p) => p.startsWith(name)));
    }
  });

  test('a choice other than the defaults is in the variant key; the defaults keep the keys they had', () => {
    const key = (limits: TransformLimits) => variantKey('a.jpg' as SourceKey, specFor('w=100&fm=webp', 'legacy', limits));
    assert.equal(key(DEFAULT_LIMITS), 'v3:a.jpg?w=100&fit=inside&enlarge=0&rot=0&anim=0&fm=webp&tq=77');
    assert.equal(key(limitsWith(CHEAP)), 'v3:a.jpg?w=100&fit=inside&enlarge=0&rot=0&anim=0&fm=webp&tq=77&enc=jpeg:fast,webp:2,avif:0,avifbits:8');
  });

  test('choose the encoder options; economy is never costlier than the choice', () => {
    assert.deepEqual(encoderOptions('jpeg', 80).options, { quality: 80, mozjpeg: true, quantisationTable: 2 });
    assert.deepEqual(encoderOptions('jpeg', 80, false, CHEAP).options, { quality: 80, quantisationTable: 5, progressive: true });
    assert.deepEqual(encoderOptions('jpeg', 80, true).options, { quality: 80, quantisationTable: 5, progressive: true });
    assert.deepEqual(encoderOptions('webp', 80, false, { ...DEFAULT_ENCODERS, webpEffort: 6 }).options, { quality: 80, effort: 6 });
    assert.deepEqual(encoderOptions('webp', 80, true).options, { quality: 80, effort: 0 });
    assert.deepEqual(encoderOptions('webp', 80, true, { ...DEFAULT_ENCODERS, webpEffort: 1 }).options, { quality: 80, effort: 0 });
    assert.deepEqual(encoderOptions('avif', 50).options, { quality: 50, effort: 2 });
    assert.deepEqual(encoderOptions('avif', 50, false, { ...DEFAULT_ENCODERS, avifEffort: 4, avifBitDepth: 10 }).options, { quality: 50, effort: 4, bitdepth: 10 });
    assert.deepEqual(encoderOptions('avif', 50, true, { ...DEFAULT_ENCODERS, avifBitDepth: 10 }).options, { quality: 50, effort: 2, chromaSubsampling: '4:2:0' });
    assert.deepEqual(encoderOptions('avif', 50, true, { ...DEFAULT_ENCODERS, avifEffort: 4 }).options, { quality: 50, effort: 2, chromaSubsampling: '4:2:0' });
    assert.deepEqual(encoderOptions('avif', 50, true, CHEAP).options, { quality: 50, effort: 0, chromaSubsampling: '4:2:0' });
  });

  test('the pipeline encodes with the choice: the same picture in other bytes', async () => {
    const photo = await readFile(path.join(PROJECT_ROOT, 'samples', 'evening-glow.jpg'));
    for (const fm of ['jpeg', 'webp', 'avif'] as const) {
      const query = `w=480&q=70&fm=${fm}`;
      const chosen = limitsWith(CHEAP);
      const [defaults, cheap] = await Promise.all([
        runPipeline(photo, specFor(query), DEFAULT_LIMITS),
        runPipeline(photo, specFor(query, 'legacy', chosen), chosen),
      ]);
      const [a, b] = await Promise.all([decode(defaults.data), decode(cheap.data)]);
      assert.deepEqual([b.format, b.width, b.height], [a.format, a.width, a.height], fm);
      assert.notDeepEqual(cheap.data, defaults.data, `${fm}: another encoder setting, other bytes`);
      assert.ok((await imageDistance(defaults.data, cheap.data)) < 3, `${fm}: the same picture`);
    }
  });
});
