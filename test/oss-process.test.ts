/**
 * The OSS dialect (`x-oss-process`): translation into native parameters, equivalence with the
 * native URL it stands for (same canonical variant), and the real pipeline's output against what
 * Alibaba's documentation says each operation produces. Examples come from Alibaba Cloud's OSS
 * documentation, "Image Processing" → "IMG parameters"; each row names its page.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { serializeCanonical, type CanonicalSpec } from '../transforms/canonical.js';
import { readOssProcess, type OssRequest } from '../origin/request/oss/index.js';
import { InvalidRequestError } from '../transforms/errors.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { runPipeline } from '../transforms/pipeline.js';
import { singleWatermark, type Watermark, type Watermarks } from '../transforms/watermark.js';
import { decode, imageDistance, meanColour } from './helpers/images.js';
import { CORPUS } from '../support/paths.js';
import { specFor } from './helpers/specs.js';

/**
 * Where each example comes from: Alibaba Cloud's OSS documentation, "Data Processing" → "Image
 * Processing" → "Parameters", as published in Alibaba's documentation repository
 * (github.com/AlibabaCloudDocs/oss, intl.en-US/Developer Guide/Data Processing/Image Processing/…;
 * the pages are also on alibabacloud.com/help/en/oss). Test names carry the page title.
 */
const DOC = {
  resize: 'OSS "Resize images"',
  crop: 'OSS "Custom crop"',
  indexcrop: 'OSS "Indexed cut"',
  circle: 'OSS "Incircle"',
  rounded: 'OSS "Rounded rectangle"',
  rotate: 'OSS "Rotate"',
  orient: 'OSS "Automatic rotation"',
  quality: 'OSS "Quality transformation"',
  format: 'OSS "Format conversion"',
  interlace: 'OSS "Gradual display"',
  blur: 'OSS "Blur"',
  bright: 'OSS "Brightness"',
  contrast: 'OSS "Contrast"',
  sharpen: 'OSS "Sharpen"',
  watermark: 'OSS "Add watermarks"',
  info: 'OSS "Query information"',
  hue: 'OSS "Query the average tone"',
  style: 'OSS "Image style"',
  // help.aliyun.com/en/oss/user-guide/0040-00000311 (error code page)
  errors: 'OSS error 0040-00000311',
} as const;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const sorted = (params: URLSearchParams) => [...params].sort(([a, x], [b, y]) => a.localeCompare(b) || x.localeCompare(y));

function transform(value: string): Extract<OssRequest, { kind: 'transform' }> {
  const result = readOssProcess(value);
  assert.equal(result.kind, 'transform', value);
  return result as Extract<OssRequest, { kind: 'transform' }>;
}

function refusal(value: string): InvalidRequestError {
  try {
    readOssProcess(value);
  } catch (error) {
    assert.ok(error instanceof InvalidRequestError, `${value}: ${String(error)}`);
    assert.equal(error.code, 'UNSUPPORTED_OSS_OPERATION');
    assert.equal(error.status, 400);
    return error;
  }
  assert.fail(`${value} was accepted`);
}

/** The text watermark fields OSS defaults, in our spelling. */
const TEXT_DEFAULTS = {
  kind: 'text', font: 'Noto Sans CJK SC', size: 0.04, sizePx: 40, color: '000000', shadow: false, rotate: 0,
  gravity: 'se', margin: 0, offset: { x: 10, y: 10 }, opacity: 1, tile: false,
} as const;
const IMAGE_DEFAULTS = { kind: 'image', width: 1, gravity: 'se', margin: 0, offset: { x: 10, y: 10 }, opacity: 1, tile: false } as const;

describe('x-oss-process translation: Alibaba documentation examples', () => {
  // [doc page, x-oss-process value, expected native parameters]
  const rows: [string, string, string][] = [
    [DOC.resize, 'image/resize,h_100,m_lfit', 'h=100&anim=1'],
    [DOC.resize, 'image/resize,l_100,m_mfit', 'w=100&h=100&fit=inside&anim=1'],
    [DOC.resize, 'image/resize,m_fixed,h_100,w_100', 'w=100&h=100&fit=fill&anim=1'],
    [DOC.resize, 'image/resize,m_fill,h_100,w_100', 'w=100&h=100&fit=cover&anim=1'],
    [DOC.resize, 'image/resize,m_pad,h_100,w_100,color_FF0000', 'w=100&h=100&fit=contain&bg=ff0000&anim=1'],
    [DOC.resize, 'image/resize,p_50', 'scale=50'],
    [`${DOC.resize} (p above 100 enlarges)`, 'image/resize,p_200', 'scale=200&enlarge=1'],
    [DOC.resize, 'image/resize,w_500,limit_0', 'w=500&enlarge=1&anim=1'],
    [DOC.crop, 'image/crop,x_100,y_50', 'crop=100,50,100000,100000&anim=1'],
    [DOC.crop, 'image/crop,x_100,y_50,w_100,h_100', 'crop=100,50,100,100&anim=1'],
    [DOC.crop, 'image/crop,w_200,h_200,g_se', 'crop=0,0,200,200&cropg=se&anim=1'],
    [DOC.crop, 'image/crop,x_10,y_10,w_200,h_200,g_se', 'crop=10,10,200,200&cropg=se&anim=1'],
    [DOC.indexcrop, 'image/indexcrop,x_100,i_0', 'icrop=x,100,0&anim=1'],
    [DOC.indexcrop, 'image/indexcrop,y_100,i_10', 'icrop=y,100,10&anim=1'],
    [DOC.circle, 'image/circle,r_100', 'circle=100&anim=1'],
    [DOC.circle, 'image/circle,r_100/format,png', 'circle=100&fm=png&anim=1'],
    [DOC.rounded, 'image/rounded-corners,r_30', 'round=30&anim=1'],
    [DOC.rounded, 'image/crop,w_100,h_100/rounded-corners,r_10/format,png', 'crop=0,0,100,100&round=10&fm=png&anim=1'],
    [DOC.rotate, 'image/rotate,90', 'rot=90&anim=1'],
    [DOC.orient, 'image/resize,w_100/auto-orient,1', 'w=100&anim=1'],
    [DOC.quality, 'image/resize,w_100,h_100/quality,q_80', 'w=100&h=100&fit=inside&q=80&anim=1'],
    [DOC.quality, 'image/resize,w_100,h_100/quality,Q_80', 'w=100&h=100&fit=inside&q=80&anim=1'],
    [DOC.format, 'image/format,png', 'fm=png&anim=1'],
    [DOC.format, 'image/interlace,1/format,jpg', 'fm=jpeg&anim=1'],
    [DOC.format, 'image/resize,w_200/format,webp', 'w=200&fm=webp&anim=1'],
    [DOC.interlace, 'image/resize,w_200/interlace,1', 'w=200&anim=1'],
    [DOC.interlace, 'image/format,jpg/interlace,1', 'fm=jpeg&anim=1'],
    [DOC.blur, 'image/blur,r_3,s_2', 'blur=2&anim=1'],
    [DOC.blur, 'image/resize,w_200/blur,r_3,s_2', 'w=200&blur=2&anim=1'],
    [DOC.bright, 'image/bright,50', 'bri=50&anim=1'],
    [DOC.bright, 'image/bright,-50', 'bri=-50&anim=1'],
    [DOC.contrast, 'image/contrast,-50', 'con=-50&anim=1'],
    [DOC.contrast, 'image/contrast,50', 'con=50&anim=1'],
    [DOC.sharpen, 'image/sharpen,100', 'sharpen=1&anim=1'],
    [DOC.style, 'image/resize,p_63/quality,q_90', 'scale=63&q=90'],
    [DOC.style, 'style/small', 'preset=small'],
    [`${DOC.style} (any case, digits, _ - .)`, 'style/Small_v2.jpg-x', 'preset=Small_v2.jpg-x'],
  ];
  for (const [doc, value, expected] of rows) {
    test(`${value} → ${expected} (${doc})`, () => {
      const result = transform(value);
      assert.deepEqual(sorted(result.params), sorted(new URLSearchParams(expected)));
      assert.equal(result.watermark, undefined);
    });
  }

  test(`image/info and image/average-hue ask for descriptions (${DOC.info}, ${DOC.hue})`, () => {
    assert.deepEqual(readOssProcess('image/info'), { kind: 'info' });
    assert.deepEqual(readOssProcess('image/average-hue'), { kind: 'average-hue' });
  });

  // [doc page, value, expected params, expected watermark]
  const marks: [string, string, string, Watermark][] = [
    [DOC.watermark, 'image/watermark,text_SGVsbG8gV29ybGQ', 'anim=1', { ...TEXT_DEFAULTS, text: 'Hello World' }],
    [
      DOC.watermark,
      'image/resize,w_300,h_300/watermark,type_d3F5LXplbmhlaQ,size_30,text_SGVsbG8gV29ybGQ,color_FFFFFF,shadow_50,t_100,g_se,x_10,y_10',
      'w=300&h=300&fit=inside&anim=1',
      { ...TEXT_DEFAULTS, text: 'Hello World', sizePx: 30, color: 'ffffff', shadow: true },
    ],
    [
      DOC.watermark,
      'image/watermark,text_V2F0ZXJtYXJrIDI,color_0000b7,size_20,g_sw,x_100,y_50',
      'anim=1',
      { ...TEXT_DEFAULTS, text: 'Watermark 2', sizePx: 20, color: '0000b7', gravity: 'sw', offset: { x: 100, y: 50 } },
    ],
    [DOC.watermark, 'image/watermark,image_cGFuZGEucG5n', 'anim=1', { ...IMAGE_DEFAULTS, key: 'panda.png' }],
    [
      DOC.watermark,
      'image/resize,w_300,h_300/quality,q_90/watermark,image_cGFuZGEucG5n,t_90,g_se,x_10,y_10',
      'w=300&h=300&fit=inside&q=90&anim=1',
      { ...IMAGE_DEFAULTS, key: 'panda.png', opacity: 0.9 },
    ],
    [
      DOC.watermark,
      'image/resize,w_300/watermark,image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMzA,t_90,g_se,x_10,y_10',
      'w=300&anim=1',
      { ...IMAGE_DEFAULTS, key: 'panda.png', width: 0.3, opacity: 0.9 },
    ],
    [
      DOC.watermark,
      'image/watermark,image_cGljcy9KZWxseWZpc2guanBnP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMjA,g_nw,x_10,y_10',
      'anim=1',
      { ...IMAGE_DEFAULTS, key: 'pics/Jellyfish.jpg', width: 0.2, gravity: 'nw' },
    ],
  ];
  for (const [doc, value, expected, mark] of marks) {
    test(`${value} → ${expected} + a ${mark.kind} watermark (${doc})`, () => {
      const result = transform(value);
      assert.deepEqual(sorted(result.params), sorted(new URLSearchParams(expected)));
      assert.deepEqual(result.watermark, mark);
    });
  }
});

describe('x-oss-process translation: beyond the documentation examples', () => {
  const rows: [string, string][] = [
    // Single side in the fixed-box modes is both sides (OSS "Usage notes").
    ['image/resize,m_fill,w_100', 'w=100&h=100&fit=cover&anim=1'],
    ['image/resize,m_pad,h_80', 'w=80&h=80&fit=contain&bg=ffffff&anim=1'],
    ['image/resize,m_fixed,w_64', 'w=64&h=64&fit=fill&anim=1'],
    ['image/resize,m_mfit,w_300', 'w=300&anim=1'],
    ['image/resize,m_mfit,w_300,h_300', 'w=300&h=300&fit=outside&anim=1'],
    // l_ / s_ alone: longest side N ≡ inside N×N; shortest side N ≡ outside N×N.
    ['image/resize,l_100', 'w=100&h=100&fit=inside&anim=1'],
    ['image/resize,s_100', 'w=100&h=100&fit=outside&anim=1'],
    ['image/resize,m_mfit,s_100,l_100', 'w=100&h=100&fit=outside&anim=1'],
    // With w/h, OSS ignores l/s (documented).
    ['image/resize,w_100,l_50', 'w=100&anim=1'],
    ['image/resize,w_100,limit_1', 'w=100&anim=1'],
    ['image/crop,x_5,y_6,w_7,h_8,g_center', 'crop=5,6,7,8&cropg=c&anim=1'],
    ['image/crop,y_20,h_50,g_west', 'crop=0,20,100000,50&cropg=w&anim=1'],
    ['image/indexcrop,x_100,y_50,i_2', 'icrop=y,50,2&anim=1'],
    ['image/quality,q_50,Q_70', 'q=70&anim=1'],
    ['image/rotate,360', 'anim=1'],
    ['image/rotate,0/bright,0', 'anim=1'],
    ['image/interlace,0', 'anim=1'],
    ['image/sharpen,150', 'sharpen=1.5&anim=1'],
    ['image/sharpen,399', 'sharpen=3.99&anim=1'],
    ['image/sharpen,55', 'sharpen=0.55&anim=1'],
    ['image/format,avif', 'fm=avif&anim=1'],
    ['image/format,gif', 'fm=gif&anim=1'],
    // Orders that give the native result.
    ['image/rotate,90/resize,w_200', 'w=200&rot=90&anim=1'],
    ['image/resize,w_200/rotate,90', 'h=200&rot=90&anim=1'],
    ['image/resize,m_lfit,w_300,h_200/rotate,270', 'w=200&h=300&fit=inside&rot=270&anim=1'],
    ['image/resize,w_300/rotate,180', 'w=300&rot=180&anim=1'],
    ['image/resize,w_200/sharpen,100/rotate,90', 'h=200&sharpen=1&rot=90&anim=1'],
    ['image/crop,w_100,h_100/resize,w_50/rotate,90', 'crop=0,0,100,100&h=50&rot=90&anim=1'],
    ['image/bright,20/circle,r_50', 'bri=20&circle=50&anim=1'],
    ['image/rounded-corners,r_10/contrast,10', 'round=10&con=10&anim=1'],
    ['image/contrast,10/bright,-10', 'con=10&bri=-10&anim=1'],
    ['image/format,png/circle,r_100/quality,Q_50', 'circle=100&fm=png&q=50&anim=1'],
  ];
  for (const [value, expected] of rows) {
    test(`${value} → ${expected}`, () => {
      assert.deepEqual(sorted(transform(value).params), sorted(new URLSearchParams(expected)));
    });
  }

  test('text and fonts: base64url with or without padding, every OSS font, rotation normalised', () => {
    const mark = transform(`image/watermark,text_${b64('你好，世界')},type_${b64('fangzhengkaiti')}=,rotate_270,fill_1,t_40,g_center`).watermark;
    assert.deepEqual(mark, { ...TEXT_DEFAULTS, text: '你好，世界', rotate: -90, tile: true, opacity: 0.4, gravity: 'c' });
    for (const font of ['wqy-zenhei', 'wqy-microhei', 'fangzhengshusong', 'fangzhengheiti', 'fangzhengfangsong', 'droidsansfallback']) {
      assert.equal(singleWatermark(transform(`image/watermark,text_${b64('a')},type_${b64(font)}`).watermark)?.kind, 'text', font);
    }
  });

  test('a watermark written before rounded-corners is masked with the image, as natively', () => {
    const result = transform(`image/resize,w_200/watermark,text_${b64('hi')}/rounded-corners,r_10`);
    assert.deepEqual(sorted(result.params), sorted(new URLSearchParams('w=200&round=10&anim=1')));
    assert.equal(singleWatermark(result.watermark)?.kind, 'text');
  });

  test('text is limited to 64 bytes of UTF-8, as OSS (21 Chinese characters)', () => {
    assert.equal(singleWatermark(transform(`image/watermark,text_${b64('水'.repeat(21))}`).watermark)?.kind, 'text');
    assert.equal(singleWatermark(transform(`image/watermark,text_${b64('x'.repeat(64))}`).watermark)?.kind, 'text');
  });

  test('a top-level P_ sets the image watermark width share', () => {
    assert.deepEqual(transform(`image/watermark,image_${b64('logos/brand.png')},P_15`).watermark, {
      ...IMAGE_DEFAULTS,
      key: 'logos/brand.png',
      width: 0.15,
    });
  });
});

describe('x-oss-process translation: refusals name the operation or parameter', () => {
  // [value, the param named by a problem, where the example comes from]
  const rows: [string, string, string?][] = [
    ['image/resize,w_100,m_abc', 'resize.m', DOC.errors],
    ['image/resize,w_100/rotate,70', 'rotate', `${DOC.rotate}: a turn by other than a quarter after a resize does not commute with it`],
    ['image/resize,w_100/auto-orient,0', 'auto-orient', DOC.orient],
    ['image/format,bmp', 'format', DOC.format],
    ['image/format,tiff', 'format', DOC.format],
    ['image/format,heic', 'format'],
    ['image/format,jxl', 'format'],
    [`image/watermark,image_${b64('a.png')}/watermark,image_${b64('b.png')}`, 'watermark'],
    [`image/watermark,text_${b64('a')}/watermark,text_${b64('b')}/watermark,text_${b64('c')}/watermark,text_${b64('d')}`, 'watermark'],
    ['video/snapshot,t_1000', 'x-oss-process'],
    ['image', 'x-oss-process'],
    ['image/', 'x-oss-process'],
    ['image/resize,w_100/', 'x-oss-process'],
    ['image/flip,1', 'flip'],
    ['image/resize,w_100,foo_1', 'resize.foo'],
    ['image/resize,w_100,w_200', 'resize.w'],
    ['image/resize,w_abc', 'resize.w'],
    ['image/resize,w_0', 'resize.w'],
    ['image/resize,w_16385', 'resize.w'],
    ['image/resize,m_lfit', 'resize'],
    ['image/resize,p_1001', 'resize.p'],
    ['image/resize,p_50,w_100', 'resize.w'],
    ['image/resize,l_100,s_50', 'resize.l'],
    ['image/resize,m_fill,l_100', 'resize.l'],
    ['image/resize,w_100,color_FF0000', 'resize.color'],
    ['image/resize,w_100,limit_2', 'resize.limit'],
    ['image/resize,w_100/resize,w_50', 'resize'],
    ['image/crop,x_10,g_se', 'crop.w'],
    ['image/crop,w_10,g_south', 'crop.h'],
    ['image/crop,w_10,h_10,g_middle', 'crop.g'],
    ['image/crop,w_0,h_10', 'crop.w'],
    ['image/indexcrop,i_1', 'indexcrop'],
    ['image/indexcrop,x_10,i_10000', 'indexcrop.i'],
    ['image/crop,w_10,h_10/indexcrop,x_5', 'indexcrop'],
    ['image/circle,r_0', 'circle.r'],
    ['image/circle', 'circle'],
    ['image/circle,r_10/rounded-corners,r_5', 'rounded-corners'],
    ['image/rounded-corners,r_4097', 'rounded-corners.r'],
    ['image/rotate,450', 'rotate'],
    ['image/rotate,-90', 'rotate'],
    ['image/auto-orient,2', 'auto-orient'],
    ['image/interlace,2', 'interlace'],
    ['image/quality,q_0', 'quality.q'],
    ['image/quality,Q_101', 'quality.Q'],
    ['image/quality', 'quality'],
    ['image/blur,r_3', 'blur'],
    ['image/blur,r_3,s_51', 'blur.s'],
    ['image/blur,r_0,s_2', 'blur.r'],
    ['image/bright,101', 'bright'],
    ['image/contrast,-101', 'contrast'],
    ['image/contrast,1.5', 'contrast'],
    ['image/sharpen,49', 'sharpen'],
    ['image/sharpen,400', 'sharpen'],
    ['image/info/resize,w_100', 'info'],
    ['image/average-hue,1', 'average-hue'],
    ['image/resize,w_100/average-hue', 'average-hue'],
    // Orders the native pipeline cannot reproduce.
    ['image/resize,w_200/crop,w_100,h_100', 'crop'],
    ['image/resize,w_200/indexcrop,x_50', 'indexcrop'],
    ['image/rotate,90/crop,w_100,h_100', 'crop'],
    ['image/blur,r_3,s_2/resize,w_200', 'resize'],
    ['image/bright,50/resize,w_200', 'resize'],
    ['image/contrast,50/resize,w_200', 'resize'],
    ['image/sharpen,100/resize,w_200', 'resize'],
    ['image/sharpen,100/blur,s_2', 'blur'],
    ['image/bright,10/contrast,10', 'contrast'],
    ['image/circle,r_100/resize,w_50', 'resize'],
    ['image/circle,r_100/blur,s_2', 'blur'],
    ['image/rounded-corners,r_10/sharpen,100', 'sharpen'],
    ['image/circle,r_100/rotate,90', 'rotate'],
    ['image/resize,m_fill,w_100,h_100/rotate,90', 'rotate'],
    ['image/resize,m_pad,w_100,h_50/rotate,180', 'rotate'],
    [`image/watermark,text_${b64('hi')}/resize,w_100`, 'resize'],
    [`image/watermark,text_${b64('hi')}/bright,10`, 'bright'],
    [`image/watermark,text_${b64('hi')}/rotate,90`, 'rotate'],
    [`image/rounded-corners,r_10/watermark,text_${b64('hi')}`, 'watermark'],
    [`image/circle,r_100/watermark,text_${b64('hi')}`, 'watermark'],
    [`image/watermark,text_${b64('hi')}/circle,r_100`, 'watermark'],
    ['image/resize,m_pad,w_100,h_100,color_000000/circle,r_50/format,jpg', 'resize.color'],
    // Watermark parameters.
    [`image/watermark,text_${b64('hi')},voffset_10`, 'watermark.voffset'],
    [`image/watermark,text_${b64('hi')},padx_10`, 'watermark.padx'],
    [`image/watermark,text_${b64('hi')},order_1`, 'watermark.order'],
    [`image/watermark,text_${b64('hi')},t_101`, 'watermark.t'],
    [`image/watermark,text_${b64('hi')},g_middle`, 'watermark.g'],
    [`image/watermark,text_${b64('hi')},size_0`, 'watermark.size'],
    [`image/watermark,text_${b64('hi')},color_fff`, 'watermark.color'],
    [`image/watermark,text_${b64('hi')},rotate_361`, 'watermark.rotate'],
    [`image/watermark,text_${b64('hi')},type_${b64('comic-sans')}`, 'watermark.type'],
    [`image/watermark,text_${b64('hi')},P_10`, 'watermark.P'],
    [`image/watermark,text_${b64('x'.repeat(65))}`, 'watermark.text'],
    [`image/watermark,text_${b64('水'.repeat(22))}`, 'watermark.text'],
    [`image/watermark,text_${b64('a\nb')}`, 'watermark.text'],
    ['image/watermark,text_SGVsbG8+V29ybGQ', 'watermark.text'],
    ['image/watermark,text_wyg', 'watermark.text'],
    [`image/watermark,image_${b64('panda.png')},size_20`, 'watermark.size'],
    [`image/watermark,image_${b64('panda.png?x-oss-process=image/crop,w_10')}`, 'watermark.image'],
    [`image/watermark,image_${b64('../secret.png')}`, 'watermark.image'],
    [`image/watermark,image_${b64('/abs.png')}`, 'watermark.image'],
    [`image/watermark,image_${b64('panda.png?x-oss-process=image/resize,P_30')},P_30`, 'watermark.P'],
    [`image/watermark,image_${b64('panda.png')},P_101`, 'watermark.P'],
    ['image/watermark,g_se', 'watermark'],
    [`style/${'s'.repeat(65)}`, 'style'],
    ['style/a b', 'style'],
    ['style/', 'style'],
    ['style/a/b', 'style'],
  ];
  for (const [value, param, doc] of rows) {
    test(`${value} → 400 naming ${param}${doc ? ` (${doc})` : ''}`, () => {
      const error = refusal(value);
      const named = error.problems.map((p) => p.param);
      assert.ok(named.includes(param), `problems: ${JSON.stringify(error.problems)}`);
    });
  }

  test('every problem is listed at once', () => {
    const error = refusal('image/resize,w_0,m_abc/rotate,450/format,bmp');
    assert.deepEqual(error.problems.map((p) => p.param).sort(), ['format', 'resize.m', 'resize.w', 'rotate']);
  });
});

/** The path the origin takes for native parameters: parse, client hints (none sent), canonicalize. */
function canonical(params: URLSearchParams, watermark?: Watermarks): CanonicalSpec {
  return specFor(params, 'legacy', DEFAULT_LIMITS, watermark ? { watermark } : {});
}

function ossCanonical(value: string): CanonicalSpec {
  const result = transform(value);
  return canonical(result.params, result.watermark);
}

describe('an OSS URL and its native equivalent are one variant', () => {
  const pairs: [string, string][] = [
    ['image/resize,m_lfit,w_300,h_300/quality,q_80/format,webp', 'w=300&h=300&q=80&fm=webp&anim=1'],
    ['image/resize,m_fill,h_100,w_100', 'fit=cover&pos=center&h=100&w=100&anim=1'],
    ['image/resize,m_pad,h_100,w_100,color_FF0000', 'w=100&h=100&fit=contain&bg=F00&anim=1'],
    ['image/resize,l_100', 'w=100&h=100&anim=1'],
    ['image/resize,s_100', 'w=100&h=100&fit=outside&anim=1'],
    ['image/resize,m_mfit,w_300', 'w=300&fit=outside&anim=1'],
    ['image/resize,p_50', 'scale=50'],
    ['image/resize,p_250', 'scale=250&enlarge=1'],
    ['image/resize,p_100', 'scale=100'],
    ['image/resize,w_3000,limit_0/auto-orient,1/interlace,1', 'w=3000&enlarge=1&anim=1'],
    ['image/crop,x_10,y_10,w_200,h_200,g_se/resize,w_100', 'crop=10,10,200,200&cropg=se&w=100&anim=1'],
    ['image/crop,x_0,y_0,w_200,h_200,g_nw', 'crop=0,0,200,200&cropg=nw&anim=1'],
    ['image/resize,w_200/rotate,90', 'rot=90&h=200&anim=1'],
    ['image/rotate,70', 'rot=70&anim=1'],
    ['image/rotate,45/resize,w_300', 'rot=45&w=300&anim=1'],
    ['image/rotate,360', 'anim=1'],
    ['image/indexcrop,x_500,i_1/circle,r_100/format,png', 'icrop=x,500,1&circle=100&fm=png&anim=1'],
    ['image/resize,w_200/blur,r_3,s_2/sharpen,100/contrast,-20/bright,10', 'w=200&blur=2&sharpen=1&con=-20&bri=10&anim=1'],
    ['image/rounded-corners,r_30/format,jpg/quality,Q_75', 'round=30&fm=jpg&q=75&anim=1'],
  ];
  for (const [value, native] of pairs) {
    test(`${value} ≡ ?${native}`, () => {
      assert.equal(serializeCanonical(ossCanonical(value)), serializeCanonical(canonical(new URLSearchParams(native))));
    });
  }

  test('different images stay different variants', () => {
    const lfit = serializeCanonical(ossCanonical('image/resize,m_lfit,w_300,h_300'));
    assert.notEqual(lfit, serializeCanonical(canonical(new URLSearchParams('w=300&h=300&fit=cover&anim=1'))));
    assert.notEqual(lfit, serializeCanonical(ossCanonical('image/resize,m_mfit,w_300,h_300')));
    assert.notEqual(serializeCanonical(ossCanonical('image/resize,w_200/rotate,90')), serializeCanonical(ossCanonical('image/rotate,90/resize,w_200')));
  });

  test('the OSS watermark becomes part of the variant', () => {
    const a = serializeCanonical(ossCanonical(`image/watermark,text_${b64('a')}`));
    const b = serializeCanonical(ossCanonical(`image/watermark,text_${b64('b')}`));
    assert.notEqual(a, b);
    assert.match(a, /wm=text:a:/);
  });

  test('several watermarks are one list in the key: one keeps its old key, order counts, none collide', () => {
    const key = (value: string) => serializeCanonical(ossCanonical(value));
    const [ta, tb] = [`watermark,text_${b64('a')}`, `watermark,text_${b64('b')},g_nw`];
    const single = key(`image/${ta}`);
    const [ab, ba] = [key(`image/${ta}/${tb}`), key(`image/${tb}/${ta}`)];
    assert.equal(ab, single.replace(/wm=([^&]*)/, (_m, one: string) => `wm=list|2|${one}|${key(`image/${tb}`).match(/wm=([^&]*)/)?.[1] ?? ''}`));
    assert.notEqual(ab, ba);
    // Text with "|" or ":" is percent-encoded, so it cannot forge a list or a second mark.
    assert.notEqual(key(`image/watermark,text_${b64('a|list')}`), ab);
    assert.match(key(`image/watermark,text_${b64('x|y:z')}`), /wm=text:x%7Cy%3Az:/);
  });
});

describe('OSS operations through the real pipeline (2560x1600 JPEG)', () => {
  let photo: Buffer;
  before(async () => {
    photo = await readFile(path.join(CORPUS, 'photos', 'evening-glow-baseline.jpg'));
  });
  const run = async (value: string, logo?: Buffer) => {
    const result = transform(value);
    return runPipeline(photo, canonical(result.params, result.watermark), DEFAULT_LIMITS, logo ? { watermarkLogo: logo } : {});
  };

  // [doc page or rule, value, width, height, format, has alpha]
  const rows: [string, string, number, number, string, boolean?][] = [
    [DOC.resize, 'image/resize,m_lfit,w_300,h_300', 300, 188, 'jpeg'],
    [DOC.resize, 'image/resize,m_mfit,w_300,h_300', 480, 300, 'jpeg'],
    [DOC.resize, 'image/resize,m_pad,w_300,h_300', 300, 300, 'jpeg'],
    [DOC.resize, 'image/resize,m_fill,h_100,w_100', 100, 100, 'jpeg'],
    [DOC.resize, 'image/resize,m_fixed,h_100,w_100', 100, 100, 'jpeg'],
    [DOC.resize, 'image/resize,h_100,m_lfit', 160, 100, 'jpeg'],
    [DOC.resize, 'image/resize,l_100,m_mfit', 100, 63, 'jpeg'],
    [`${DOC.resize} (s: short side)`, 'image/resize,s_100', 160, 100, 'jpeg'],
    [`${DOC.resize} (one side in fill: a square)`, 'image/resize,m_fill,w_120', 120, 120, 'jpeg'],
    [DOC.resize, 'image/resize,p_50', 1280, 800, 'jpeg'],
    [`${DOC.resize} (p above 100 enlarges)`, 'image/crop,w_100,h_50/resize,p_300', 300, 150, 'jpeg'],
    [`${DOC.resize} (limit_1, the default, never enlarges)`, 'image/resize,w_3000', 2560, 1600, 'jpeg'],
    [`${DOC.resize} (limit_0 enlarges)`, 'image/resize,w_3000,limit_0', 3000, 1875, 'jpeg'],
    [DOC.crop, 'image/crop,x_100,y_50', 2460, 1550, 'jpeg'],
    [DOC.crop, 'image/crop,x_100,y_50,w_100,h_100', 100, 100, 'jpeg'],
    [DOC.crop, 'image/crop,w_200,h_200,g_se', 200, 200, 'jpeg'],
    ['indexcrop x_500,i_1', 'image/indexcrop,x_500,i_1', 500, 1600, 'jpeg'],
    [DOC.indexcrop, 'image/indexcrop,x_100,i_0', 100, 1600, 'jpeg'],
    [DOC.indexcrop, 'image/indexcrop,y_100,i_10', 2560, 100, 'jpeg'],
    [`${DOC.indexcrop} (index past the end: the whole image)`, 'image/indexcrop,y_100,i_16', 2560, 1600, 'jpeg'],
    [DOC.circle, 'image/circle,r_100/format,png', 200, 200, 'png', true],
    [DOC.circle, 'image/circle,r_100/format,jpg', 200, 200, 'jpeg', false],
    [`${DOC.circle} (r above half the short side)`, 'image/resize,w_300/circle,r_500/format,png', 188, 188, 'png', true],
    [DOC.rounded, 'image/crop,w_100,h_100/rounded-corners,r_10/format,png', 100, 100, 'png', true],
    [DOC.rotate, 'image/resize,w_400/rotate,90', 250, 400, 'jpeg'],
    ['rotate before resize, portrait l_', 'image/rotate,90/resize,l_100', 63, 100, 'jpeg'],
    [DOC.orient, 'image/resize,w_100/auto-orient,1', 100, 63, 'jpeg'],
    [DOC.quality, 'image/resize,w_100,h_100/quality,q_80', 100, 63, 'jpeg'],
    [DOC.format, 'image/resize,w_200/format,webp', 200, 125, 'webp'],
    [DOC.interlace, 'image/resize,w_200/interlace,1', 200, 125, 'jpeg'],
    [DOC.blur, 'image/resize,w_200/blur,r_3,s_2', 200, 125, 'jpeg'],
    [DOC.bright, 'image/resize,w_200/bright,50', 200, 125, 'jpeg'],
    [DOC.contrast, 'image/resize,w_200/contrast,-50', 200, 125, 'jpeg'],
    [DOC.sharpen, 'image/resize,w_200/sharpen,100', 200, 125, 'jpeg'],
    [DOC.style, 'image/resize,p_10/quality,q_90', 256, 160, 'jpeg'],
  ];
  for (const [doc, value, width, height, format, alpha] of rows) {
    test(`${value} → ${width}x${height} ${format} (${doc})`, async () => {
      const out = await run(value);
      const d = await decode(out.data);
      assert.deepEqual([d.width, d.height, d.format], [width, height, format]);
      if (alpha !== undefined) assert.equal(d.hasAlpha, alpha);
    });
  }

  test('circle,r_100 as JPEG is white outside the circle, as OSS documents', async () => {
    const out = await run('image/circle,r_100/format,jpg');
    const corner = await meanColour(out.data, { left: 0, top: 0, width: 8, height: 8 });
    assert.ok(corner.every((c) => c > 245), `corner ${corner.join(',')}`);
  });

  test('resize then a quarter turn matches the two steps done one at a time', async () => {
    for (const [value, resize] of [
      ['image/resize,w_200/rotate,90', { width: 200 }],
      ['image/resize,m_lfit,w_300,h_200/rotate,270', { width: 300, height: 200, fit: 'inside' as const }],
      ['image/resize,m_fixed,w_300,h_100/rotate,90', { width: 300, height: 100, fit: 'fill' as const }],
    ] as const) {
      // A fixed quality: the geometry is compared, not what the quality target chooses. A wrong turn
      // or stretch is tens of levels off; q85 JPEG itself is about 2 on the squeezed m_fixed case.
      const out = await run(`${value}/quality,Q_85`);
      const resized = await sharp(photo).resize(resize).png().toBuffer();
      const reference = await sharp(resized).rotate(value.endsWith('270') ? 270 : 90).png().toBuffer();
      const [a, b] = [await decode(out.data), await decode(reference)];
      assert.deepEqual([a.width, a.height], [b.width, b.height], value);
      const distance = await imageDistance(out.data, reference);
      assert.ok(distance < 2.5, `${value}: distance ${distance.toFixed(2)}`);
    }
  });

  test(`a text watermark (${DOC.watermark}) keeps the output size and marks the corner`, async () => {
    const value =
      'image/resize,w_300,h_300/watermark,type_d3F5LXplbmhlaQ,size_30,text_SGVsbG8gV29ybGQ,color_FFFFFF,shadow_50,t_100,g_se,x_10,y_10';
    const out = await run(value);
    const plain = await run('image/resize,w_300,h_300');
    const d = await decode(out.data);
    assert.deepEqual([d.width, d.height, d.format], [300, 188, 'jpeg']);
    const corner = { left: 150, top: 140, width: 140, height: 38 };
    const [marked, bare] = [await meanColour(out.data, corner), await meanColour(plain.data, corner)];
    assert.ok(marked.reduce((s, c) => s + c) > bare.reduce((s, c) => s + c) + 30, `white text should lighten ${bare} → ${marked}`);
  });

  test(`up to three watermarks (${DOC.watermark}): a logo and text, each placed by its own g/x/y, in URL order`, async () => {
    const logo = await sharp({ create: { width: 200, height: 100, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } } }).png().toBuffer();
    const value = `image/resize,w_300/watermark,image_${b64('logo.png')},P_30,g_nw,x_10,y_10/watermark,text_${b64('@username')},size_30,color_FFFFFF,g_se,x_10,y_10`;
    const result = transform(value);
    assert.equal(Array.isArray(result.watermark) && result.watermark.map((m: Watermark) => m.kind).join(), 'image,text');
    const out = await run(value, logo);
    const d = await decode(out.data);
    assert.deepEqual([d.width, d.height], [300, 188]);
    // The 90x45 logo 10 px in from the top-left corner, the white text at the bottom right.
    const [r, g, b] = await meanColour(out.data, { left: 14, top: 14, width: 82, height: 37 });
    assert.ok(r > 200 && g < 60 && b < 60, `logo at nw: ${r},${g},${b}`);
    const plain = await run('image/resize,w_300');
    const corner = { left: 160, top: 145, width: 130, height: 33 };
    const [marked, bare] = [await meanColour(out.data, corner), await meanColour(plain.data, corner)];
    assert.ok(marked.reduce((s, c) => s + c) > bare.reduce((s, c) => s + c) + 30, `text at se should lighten ${bare} → ${marked}`);
  });

  test(`an image watermark with P_30 (${DOC.watermark}) is 30% of the output width, at se with 10 px margins`, async () => {
    const logo = await sharp({ create: { width: 200, height: 100, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } } }).png().toBuffer();
    const value = `image/resize,w_300/watermark,image_${b64('logo.png?x-oss-process=image/resize,P_30')},g_se,x_10,y_10`;
    const out = await run(value, logo);
    const d = await decode(out.data);
    assert.deepEqual([d.width, d.height], [300, 188]);
    // 90x45 red block with its bottom-right corner 10 px in from the output's.
    const [r, g, b] = await meanColour(out.data, { left: 204, top: 137, width: 82, height: 37 });
    assert.ok(r > 200 && g < 60 && b < 60, `inside the mark: ${r},${g},${b}`);
    const [r2, g2, b2] = await meanColour(out.data, { left: 150, top: 137, width: 40, height: 37 });
    assert.ok(!(r2 > 200 && g2 < 60 && b2 < 60), `left of the mark: ${r2},${g2},${b2}`);
  });
});
