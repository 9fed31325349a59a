/**
 * `rot` at any angle (and OSS `rotate` at any angle): the turned image on a canvas that holds it,
 * the corners filled with `bg` (white, or transparent for sources with alpha), checked against
 * sharp doing one step at a time; `bg` stays in the key where it fills corners.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import type { SourceKey } from '../origin/sources/source.js';
import { variantKey } from '../origin/variant-key.js';
import { readCorpus } from '../support/corpus.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { runPipeline } from '../transforms/pipeline.js';
import { decode, imageDistance } from './helpers/images.js';
import { specFor } from './helpers/specs.js';

const PHOTO = 'photos/evening-glow-baseline.jpg';
const run = async (name: string, query: string) => runPipeline(await readCorpus(name), specFor(query), DEFAULT_LIMITS);

async function pixelAt(bytes: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [...data.subarray(at, at + info.channels)];
}

describe('rot at any angle', () => {
  test('rot=45: the bounding canvas (2560×1600 → 2942×2942), white corners, opaque, as sharp turns it', async () => {
    const out = await run(PHOTO, 'rot=45&fm=png');
    const decoded = await decode(out.data);
    assert.deepEqual([decoded.width, decoded.height, decoded.channels], [2942, 2942, 3]);
    assert.deepEqual(await pixelAt(out.data, 2, 2), [255, 255, 255]);
    const reference = await sharp(await readCorpus(PHOTO)).rotate(45, { background: '#fff' }).png().toBuffer();
    assert.ok((await imageDistance(out.data, reference)) < 1);
  });

  test('crop, then the turn, then the mirror and the resize, in that order', async () => {
    const input = await readCorpus(PHOTO);
    const out = await runPipeline(input, specFor('crop=100,200,900,500&rot=30&flip=h&w=300&fm=png'), DEFAULT_LIMITS);
    let step = await sharp(input).extract({ left: 100, top: 200, width: 900, height: 500 }).png().toBuffer();
    step = await sharp(step).rotate(30, { background: '#fff' }).png().toBuffer();
    step = await sharp(step).flop().resize(300).png().toBuffer();
    const ref = await decode(step);
    assert.deepEqual([out.width, out.height], [ref.width, ref.height]);
    assert.ok((await imageDistance(out.data, step)) < 2);
  });

  test('bg fills the corners, with alpha when it has some; a source with alpha gets transparent corners', async () => {
    const red = await run(PHOTO, 'rot=30&bg=ff000080&fm=png&w=400');
    assert.equal((await decode(red.data)).channels, 4);
    const [r, g, b, a] = await pixelAt(red.data, 1, 1);
    assert.ok(r! > 240 && g! < 15 && b! < 15 && Math.abs(a! - 128) < 4, `${[r, g, b, a]}`);
    const alpha = await run('png/palette-with-trns.png', 'rot=45&fm=png');
    assert.equal((await pixelAt(alpha.data, 1, 1))[3], 0);
    const jpeg = await run(PHOTO, 'rot=30&bg=00f&fm=jpeg&w=400');
    const [jr, jg, jb] = await pixelAt(jpeg.data, 1, 1);
    assert.ok(jb! > 230 && jr! < 25 && jg! < 25, 'blue corners in JPEG');
  });

  test('bg is in the key when it fills corners, and leaves it for quarter turns', () => {
    const key = (q: string) => variantKey('a.jpg' as SourceKey, specFor(q));
    assert.match(key('rot=45&bg=f00&fm=png'), /bg=ff0000/);
    assert.doesNotMatch(key('rot=90&bg=f00&fm=png'), /bg=/);
    assert.notEqual(key('rot=45&bg=f00&fm=png'), key('rot=45&fm=png'));
  });

  test('an animation turned by other than a quarter gives its first frame', async () => {
    const out = await run('anim/spinner-transparent-12f.gif', 'rot=45&anim=1&fm=gif');
    assert.equal((await decode(out.data)).pages, 1);
  });
});
