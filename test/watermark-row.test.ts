/**
 * OSS's mixed watermark (logo and text in one operation, `order_`, `align_`, `interval_`), its
 * native form (a preset file `row` watermark filled by `wmt`), and public text watermarks
 * (`ORIGIN_PUBLIC_TEXT_WATERMARK`): translation, rendering (where the parts land), keys, and the
 * HTTP answers with the switch off and on.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { readOssProcess } from '../origin/request/oss/index.js';
import { InvalidRequestError } from '../transforms/errors.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { runPipeline } from '../transforms/pipeline.js';
import { serializeCanonical } from '../transforms/canonical.js';
import { singleWatermark, type RowWatermark } from '../transforms/watermark.js';
import { SAMPLES } from '../support/paths.js';
import { decode } from './helpers/images.js';
import { jsonError, rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { specFor } from './helpers/specs.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const LOGO = b64('logo.png');
const HANDLE = b64('@username');

function row(value: string): RowWatermark {
  const read = readOssProcess(value);
  assert.equal(read.kind, 'transform');
  const mark = read.kind === 'transform' ? singleWatermark(read.watermark) : undefined;
  assert.equal(mark?.kind, 'row');
  return mark as RowWatermark;
}

/** Bounding box of the pixels that differ between two same-sized images. */
async function changedBox(a: Buffer, b: Buffer) {
  const [x, y] = await Promise.all([a, b].map((img) => sharp(img).removeAlpha().raw().toBuffer({ resolveWithObject: true })));
  const { width, height } = x!.info;
  let [left, right, top, bottom] = [width, -1, height, -1];
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      const i = (py * width + px) * 3;
      if (Math.abs(x!.data[i]! - y!.data[i]!) + Math.abs(x!.data[i + 1]! - y!.data[i + 1]!) + Math.abs(x!.data[i + 2]! - y!.data[i + 2]!) > 30) {
        [left, right, top, bottom] = [Math.min(left, px), Math.max(right, px), Math.min(top, py), Math.max(bottom, py)];
      }
    }
  }
  return { left, right, top, bottom, width: right - left + 1 };
}

describe('OSS mixed watermark: logo and text in one operation', () => {
  test('order_, align_ and interval_ make a row; the defaults are image first, top, 0 px', () => {
    const plain = row(`image/watermark,image_${LOGO},text_${HANDLE}`);
    assert.deepEqual([plain.parts.map((p) => p.kind), plain.align, plain.interval], [['image', 'text'], 'top', 0]);
    const turned = row(`image/watermark,image_${LOGO},text_${HANDLE},order_1,align_1,interval_12`);
    assert.deepEqual([turned.parts.map((p) => p.kind), turned.align, turned.interval], [['text', 'image'], 'middle', 12]);
    assert.equal(row(`image/watermark,text_${HANDLE},image_${LOGO},align_2`).align, 'bottom');
  });

  test("OSS's own example (panda.png at P_30 beside Hello World) is a row", () => {
    const mark = row('image/watermark,image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMzA,text_SGVsbG8gV29ybGQ');
    const [image, text] = mark.parts;
    assert.deepEqual([image.kind === 'image' && image.key, image.kind === 'image' && image.width], ['panda.png', 0.3]);
    assert.equal(text.kind === 'text' && text.text, 'Hello World');
  });

  test('one spelling per result: argument order and explicit defaults share the key', () => {
    const key = (value: string) => {
      const read = readOssProcess(value);
      assert.equal(read.kind, 'transform');
      return read.kind === 'transform' ? serializeCanonical(specFor(read.params, 'legacy', DEFAULT_LIMITS, read.watermark ? { watermark: read.watermark } : {})) : '';
    };
    const a = key(`image/watermark,image_${LOGO},text_${HANDLE}`);
    assert.equal(key(`image/watermark,text_${HANDLE},image_${LOGO},order_0,align_0,interval_0`), a);
    assert.notEqual(key(`image/watermark,image_${LOGO},text_${HANDLE},order_1`), a);
    assert.notEqual(key(`image/watermark,image_${LOGO},text_${HANDLE},interval_10`), a);
  });

  test('order_, align_, interval_ without both parts, and out of range, are 400s naming them', () => {
    for (const [value, param] of [
      [`image/watermark,text_${HANDLE},order_1`, 'watermark.order'],
      [`image/watermark,image_${LOGO},interval_5`, 'watermark.interval'],
      [`image/watermark,image_${LOGO},text_${HANDLE},align_3`, 'watermark.align'],
      [`image/watermark,image_${LOGO},text_${HANDLE},interval_1001`, 'watermark.interval'],
      [`image/watermark,image_${LOGO},text_${HANDLE}/watermark,image_${LOGO}`, 'watermark'],
    ] as const) {
      assert.throws(() => readOssProcess(value), (error: InvalidRequestError) => error.problems.some((p) => p.param === param), value);
    }
  });

  test('rendered as one mark: the interval widens it, the order swaps the parts', async () => {
    const photo = await readFile(path.join(SAMPLES, 'evening-glow.jpg'));
    const logo = await readFile(path.join(SAMPLES, 'logo.png'));
    const render = async (value: string) => {
      const read = readOssProcess(value);
      assert.equal(read.kind, 'transform');
      if (read.kind !== 'transform') throw new Error('not a transform');
      const spec = specFor(new URLSearchParams('w=600&fm=png'), 'legacy', DEFAULT_LIMITS, read.watermark ? { watermark: read.watermark } : {});
      return (await runPipeline(photo, spec, DEFAULT_LIMITS, { watermarkLogo: logo })).data;
    };
    const bare = (await runPipeline(photo, specFor('w=600&fm=png'), DEFAULT_LIMITS)).data;
    const tight = await changedBox(await render(`image/watermark,image_${LOGO},text_${HANDLE},P_10,size_30,color_FFFFFF`), bare);
    const spaced = await changedBox(await render(`image/watermark,image_${LOGO},text_${HANDLE},P_10,size_30,color_FFFFFF,interval_60`), bare);
    assert.ok(tight.right > 500 && tight.bottom > 300, 'anchored south-east');
    assert.ok(Math.abs(spaced.width - tight.width - 60) <= 3, `interval: ${tight.width} → ${spaced.width}`);
    const imageFirst = await render(`image/watermark,image_${LOGO},text_${HANDLE},P_10,size_30`);
    const textFirst = await render(`image/watermark,image_${LOGO},text_${HANDLE},P_10,size_30,order_1`);
    const [a, b] = await Promise.all([imageFirst, textFirst].map((img) => changedBox(img, bare)));
    assert.ok(Math.abs(a!.width - b!.width) <= 2, 'same row width either way');
    assert.notDeepEqual(await sharp(imageFirst).raw().toBuffer(), await sharp(textFirst).raw().toBuffer());
  });
});

describe('public text watermarks and the preset row, over HTTP', () => {
  let folder: string;
  let closed: RunningOrigin;
  let open: RunningOrigin;
  const stamp = `/evening-glow.jpg?x-oss-process=image/resize,w_400/watermark,image_${LOGO},text_${HANDLE},P_10,interval_8,align_1`;

  before(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'row-'));
    const presets = path.join(folder, 'presets.json');
    await writeFile(
      presets,
      JSON.stringify({
        presets: {},
        watermarks: { stamp: { row: [{ image: 'logo.png', width: 0.1 }, { text: 'placeholder', size: 0.05 }], align: 'middle', interval: 8, gravity: 'se' } },
      }),
    );
    closed = await startOrigin({ ORIGIN_SOURCE: `fs:${SAMPLES}`, ORIGIN_PRESETS: presets });
    open = await startOrigin({ ORIGIN_SOURCE: `fs:${SAMPLES}`, ORIGIN_PRESETS: presets, ORIGIN_PUBLIC_TEXT_WATERMARK: 'true' });
  });
  after(async () => {
    await Promise.all([closed.close(), open.close()]);
    await rm(folder, { recursive: true, force: true });
  });

  test('unsigned text is refused by default, for OSS text_ and for wmt', async () => {
    for (const url of [stamp, '/evening-glow.jpg?w=300&wm=stamp&wmt=@username']) {
      const r = await rawGet(closed.url, url);
      assert.equal(r.status, 400, url);
      assert.match(jsonError(r).message, /signed URLs only/);
    }
  });

  test('with ORIGIN_PUBLIC_TEXT_WATERMARK=true: the OSS stamp and the preset row with wmt are served', async () => {
    const oss = await rawGet(open.url, stamp);
    assert.equal(oss.status, 200, oss.body.toString());
    const native = await rawGet(open.url, '/evening-glow.jpg?w=400&wm=stamp&wmt=@username&fm=png');
    assert.equal(native.status, 200, native.body.toString());
    assert.equal((await decode(native.body)).width, 400);
    const other = await rawGet(open.url, '/evening-glow.jpg?w=400&wm=stamp&wmt=@someone&fm=png');
    assert.notEqual(other.headers.etag, native.headers.etag, 'each text is its own variant');
  });

  test('unsigned text is capped at 64 bytes of UTF-8', async () => {
    const long = '@' + encodeURIComponent('微'.repeat(22));
    const r = await rawGet(open.url, `/evening-glow.jpg?w=300&wmt=${long}`);
    assert.equal(r.status, 400);
    assert.match(jsonError(r).message, /64 bytes/);
    assert.equal((await rawGet(open.url, `/evening-glow.jpg?w=300&wmt=@${encodeURIComponent('微'.repeat(21))}`)).status, 200);
  });
});
