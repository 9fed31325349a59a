/**
 * The memory a transform is admitted by (transforms/memory-estimate.ts), from real headers: it
 * follows the output's pixels and format, as the measurements in that file do.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalizeSpec } from '../transforms/canonical.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { createSpecParser } from '../transforms/parse-spec.js';
import { estimateMemory } from '../transforms/pipeline.js';
import { probeSource } from '../transforms/probe.js';
import { readCorpus } from '../support/corpus.js';

const MB = 1e6;
const parse = createSpecParser(DEFAULT_LIMITS);
const spec = (query: string) => canonicalizeSpec(parse(new URLSearchParams(query)), { token: 'avif', dpr: 1 }, DEFAULT_LIMITS);

describe('transform memory estimate', () => {
  test('grows with the output, and AVIF needs several times what WebP and JPEG need', async () => {
    const photo = await readCorpus('photos/the-mouse-3840x2400.jpg'); // 9.2 MP
    const [feed, full, whole, wholeWebp, wholeJpeg] = await Promise.all(
      ['w=640&fm=avif', 'w=2048&fm=avif', 'fm=avif', 'fm=webp', 'fm=jpeg'].map((q) => estimateMemory(photo, spec(q), DEFAULT_LIMITS)),
    );
    assert.ok(feed! < 20 * MB, `640 px AVIF: ${feed}`);
    // 2048x1280 at 30 bytes a pixel, plus the base: near the 70–80 MiB measured for 2048x1536.
    assert.ok(full! > 60 * MB && full! < 100 * MB, `2048 px AVIF: ${full}`);
    assert.ok(whole! > 250 * MB, `whole 9.2 MP AVIF: ${whole}`);
    assert.ok(wholeWebp! < whole! / 4 && wholeJpeg! < whole! / 4, `WebP ${wholeWebp}, JPEG ${wholeJpeg}`);
  });

  test('a quarter turn holds the decode: after shrink-on-load for a JPEG', async () => {
    const photo = await readCorpus('photos/the-mouse-3840x2400.jpg');
    const [straight, turned] = await Promise.all(['w=480&fm=webp', 'w=480&fm=webp&rot=90'].map((q) => estimateMemory(photo, spec(q), DEFAULT_LIMITS)));
    // Shrunk by 8 on load: 480x300 held as RGBA, not the 9.2 MP original (37 MB).
    assert.ok(turned! > straight! && turned! - straight! < 2 * MB, `straight ${straight}, turned ${turned}`);
  });

  test('the header is probed once per buffer, for the estimate and the transform after it', async () => {
    const photo = await readCorpus('photos/the-mouse-3840x2400.jpg');
    assert.equal(probeSource(photo, DEFAULT_LIMITS), probeSource(photo, DEFAULT_LIMITS));
    assert.notEqual(probeSource(Buffer.from(photo), DEFAULT_LIMITS), probeSource(photo, DEFAULT_LIMITS), 'another buffer is probed anew');
  });
});
