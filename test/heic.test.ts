/**
 * HEIC/HEIF input (iPhone photos) through libheif in WebAssembly: decoded size, orientation (HEIF's
 * `irot`), colour (an ICC `colr` and nclx Display P3), limits, `?info`, and the refusal of the
 * ISO-BMFF files that stay unsupported. The corpus HEIC was encoded from the same EveningGlow
 * photo as `photos/evening-glow-baseline.jpg`, which is its JPEG twin for the perceptual check.
 * Rotated and colour-tagged variants are made from it by adding item properties
 * (`support/heif-properties.ts`): the HEVC stream is the same.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { colrNclx, colrProfile, irot, withPrimaryProperties } from '../support/heif-properties.js';
import { readCorpus } from '../support/corpus.js';
import { describeImage } from '../transforms/describe-image.js';
import type { OriginError } from '../transforms/errors.js';
import { readHeifColour } from '../transforms/heic/heif-boxes.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { runPipeline } from '../transforms/pipeline.js';
import { decode, imageDistance } from './helpers/images.js';
import { specFor } from './helpers/specs.js';

const HEIC = 'formats/photo-hevc.heic';
/** nclx code points: BT.709 matrix 6 (BT.601, what the corpus stream uses), sRGB transfer 13, full range. */
const nclx = (primaries: number) => colrNclx(primaries, 13, 6, true);

async function p3Icc(): Promise<Buffer> {
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).withIccProfile('p3').png().toBuffer();
  const { icc } = await sharp(png).metadata();
  assert.ok(icc);
  return icc;
}

/** Mean of max(R,G,B) − min(R,G,B) over the image: how colourful it is in sRGB. */
async function chroma(bytes: Buffer): Promise<number> {
  const { data, info } = await sharp(bytes).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let sum = 0;
  for (let i = 0; i < data.length; i += info.channels) sum += Math.max(data[i]!, data[i + 1]!, data[i + 2]!) - Math.min(data[i]!, data[i + 1]!, data[i + 2]!);
  return sum / (data.length / info.channels);
}

async function rejects(promise: Promise<unknown>, status: number, code: string): Promise<void> {
  await assert.rejects(promise, (error: OriginError) => {
    assert.deepEqual([error.status, error.code], [status, code], error.message);
    return true;
  });
}

describe('HEIC input', () => {
  test('decodes to its full size, opaque (3 channels), close to the JPEG of the same scene', async () => {
    const out = await runPipeline(await readCorpus(HEIC), specFor('fm=png'), DEFAULT_LIMITS);
    const decoded = await decode(out.data);
    assert.deepEqual([decoded.format, decoded.width, decoded.height, decoded.channels], ['png', 1600, 1000, 3]);
    const twin = await readCorpus('photos/evening-glow-baseline.jpg');
    const distance = await imageDistance(out.data, twin);
    assert.ok(distance < 3, `distance ${distance.toFixed(2)} from the JPEG twin`);
  });

  test('every operation applies: resized, cropped, negotiated to AVIF or JPEG', async () => {
    const heic = await readCorpus(HEIC);
    const avif = await runPipeline(heic, specFor('w=320', 'avif'), DEFAULT_LIMITS);
    assert.deepEqual([avif.format, avif.width, avif.height], ['avif', 320, 200]);
    const legacy = await runPipeline(heic, specFor('w=100&h=100&fit=cover'), DEFAULT_LIMITS);
    assert.deepEqual([legacy.format, legacy.width, legacy.height], ['jpeg', 100, 100]);
  });

  test("HEIF's own orientation (irot) is applied: a quarter turn anticlockwise is upright 1000×1600", async () => {
    const heic = await readCorpus(HEIC);
    const turned = await runPipeline(withPrimaryProperties(heic, [irot(1)]), specFor('fm=png'), DEFAULT_LIMITS);
    assert.deepEqual([turned.width, turned.height], [1000, 1600]);
    const upright = await runPipeline(heic, specFor('fm=png'), DEFAULT_LIMITS);
    const reference = await sharp(upright.data).rotate(270).png().toBuffer();
    assert.ok((await imageDistance(turned.data, reference)) < 1, 'turned anticlockwise');
    const info = await describeImage(withPrimaryProperties(heic, [irot(1)]), DEFAULT_LIMITS);
    assert.deepEqual([info.format, info.width, info.height], ['heic', 1000, 1600]);
  });

  test('colour: a Display P3 profile or nclx P3 is honoured (the same pixels read as P3 are more colourful in sRGB)', async () => {
    const heic = await readCorpus(HEIC);
    const icc = await p3Icc();
    assert.deepEqual(readHeifColour(withPrimaryProperties(heic, [colrProfile(icc)])), { kind: 'icc', profile: icc });
    assert.deepEqual(readHeifColour(withPrimaryProperties(heic, [nclx(12)])), { kind: 'nclx', primaries: 12, transfer: 13 });
    const spec = specFor('w=400&fm=png');
    const [plain, profiled, coded, bt709] = await Promise.all(
      [heic, withPrimaryProperties(heic, [colrProfile(icc)]), withPrimaryProperties(heic, [nclx(12)]), withPrimaryProperties(heic, [nclx(1)])].map(
        async (bytes) => (await runPipeline(bytes, spec, { ...DEFAULT_LIMITS })).data,
      ),
    );
    const [c0, c1, c3] = await Promise.all([plain!, profiled!, bt709!].map(chroma));
    assert.ok(c1! > c0! * 1.1, `P3 profile: chroma ${c1} against ${c0} untagged`);
    assert.ok((await imageDistance(profiled!, coded!)) < 1, 'nclx P3 means the same as the P3 profile');
    assert.ok(Math.abs(c3! - c0!) < 0.5, `nclx BT.709 is sRGB: ${c3} against ${c0}`);
  });

  test('limits: the header pixel cap before decoding; a truncated file is 422; others in the ISO-BMFF family stay 415', async () => {
    const heic = await readCorpus(HEIC);
    await rejects(runPipeline(heic, specFor('w=100'), { ...DEFAULT_LIMITS, maxInputPixels: 1_000_000 }), 422, 'IMAGE_TOO_LARGE');
    await rejects(runPipeline(heic.subarray(0, 20_000), specFor('w=100'), DEFAULT_LIMITS), 422, 'UNREADABLE_IMAGE');
    const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 16]), Buffer.from('ftypmp42\0\0\0\0', 'latin1'), Buffer.alloc(64)]);
    await rejects(runPipeline(mp4, specFor('w=100'), DEFAULT_LIMITS), 415, 'UNSUPPORTED_FORMAT');
  });

  test('?info describes the HEIC itself', async () => {
    const info = await describeImage(await readCorpus(HEIC), DEFAULT_LIMITS);
    assert.deepEqual([info.format, info.width, info.height, info.hasAlpha, info.frames], ['heic', 1600, 1000, false, 1]);
    assert.match(info.averageColor, /^#[0-9a-f]{6}$/);
  });
});
