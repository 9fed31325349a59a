/**
 * Every transform parameter through the real server on a loopback socket, checked by decoding
 * the response: dimensions, format, alpha, frames and how the pixels look.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { decode, imageDistance, meanColour } from './helpers/images.js';
import { jsonError, rawGet, startOrigin, type RawResponse, type RunningOrigin } from './helpers/origin.js';
import { BROWSER_ACCEPTS } from './helpers/browsers.js';
import { corpusFolder } from '../support/corpus.js';

let origin: RunningOrigin;
let CORPUS: string; // the committed and the generated corpus files
before(async () => {
  CORPUS = await corpusFolder(['anim/photo-pan-24f.gif', 'png/rgba-soft-alpha.png', 'edge/tall-480x9600.jpg']);
  origin = await startOrigin({ ORIGIN_SOURCE: `fs:${CORPUS}` });
});
after(() => origin.close());

const PHOTO = '/photos/evening-glow-baseline.jpg'; // 2560x1600
const get = (path: string, headers: Record<string, string> = {}) => rawGet(origin.url, path, headers);

async function image(path: string, headers: Record<string, string> = {}) {
  const response = await get(path, headers);
  assert.equal(response.status, 200, `${path}: ${response.body.toString().slice(0, 200)}`);
  return { response, decoded: await decode(response.body) };
}

async function badRequest(path: string): Promise<RawResponse> {
  const response = await get(path);
  assert.equal(response.status, 400, path);
  assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
  return response;
}

describe('size parameters', () => {
  test('w keeps the aspect ratio', async () => {
    const { decoded } = await image(`${PHOTO}?w=400&fm=png`);
    assert.deepEqual([decoded.width, decoded.height], [400, 250]);
  });

  test('h keeps the aspect ratio', async () => {
    const { decoded } = await image(`${PHOTO}?h=100&fm=png`);
    assert.deepEqual([decoded.width, decoded.height], [160, 100]);
  });

  const fits: [string, [number, number]][] = [
    ['inside', [300, 188]],
    ['outside', [480, 300]],
    ['cover', [300, 300]],
    ['contain', [300, 300]],
    ['fill', [300, 300]],
  ];
  for (const [fit, size] of fits) {
    test(`fit=${fit} into 300x300 gives ${size.join('x')}`, async () => {
      const { decoded } = await image(`${PHOTO}?w=300&h=300&fit=${fit}&fm=png`);
      assert.deepEqual([decoded.width, decoded.height], size);
    });
  }

  test('fit defaults to inside', async () => {
    const { decoded } = await image(`${PHOTO}?w=300&h=300&fm=png`);
    assert.deepEqual([decoded.width, decoded.height], [300, 188]);
  });

  test('pos chooses which part a cover crop keeps', async () => {
    const tall = '/edge/tall-480x9600.jpg';
    const top = (await image(`${tall}?w=100&h=100&fit=cover&pos=top&fm=png`)).response.body;
    const bottom = (await image(`${tall}?w=100&h=100&fit=cover&pos=bottom&fm=png`)).response.body;
    const source = sharp(`${CORPUS}${tall}`);
    const expectedTop = await source.clone().extract({ left: 0, top: 0, width: 480, height: 480 }).png().toBuffer();
    const expectedBottom = await source.clone().extract({ left: 0, top: 9120, width: 480, height: 480 }).png().toBuffer();
    assert.ok((await imageDistance(top, expectedTop)) < 4);
    assert.ok((await imageDistance(bottom, expectedBottom)) < 4);
    assert.ok((await imageDistance(top, expectedBottom)) > 4, 'top and bottom crops differ');
  });

  test('pos=attention and pos=entropy are accepted', async () => {
    for (const pos of ['attention', 'entropy']) {
      const { decoded } = await image(`${PHOTO}?w=120&h=200&fit=cover&pos=${pos}&fm=png`);
      assert.deepEqual([decoded.width, decoded.height], [120, 200]);
    }
  });

  test('dpr multiplies w and h', async () => {
    const { decoded } = await image(`${PHOTO}?w=200&h=100&fit=fill&dpr=1.5&fm=png`);
    assert.deepEqual([decoded.width, decoded.height], [300, 150]);
  });

  test('never upscales without enlarge=1', async () => {
    const small = '/edge/1x1.jpg';
    assert.deepEqual([(await image(`${small}?w=64`)).decoded.width], [1]);
    assert.deepEqual([(await image(`${small}?w=64&enlarge=1`)).decoded.width], [64]);
  });

  test('w above the configured maximum is a 400 naming w', async () => {
    const error = jsonError(await badRequest(`${PHOTO}?w=100000`));
    assert.equal(error.problems?.[0]?.param, 'w');
  });
});

describe('format and quality', () => {
  for (const [fm, type] of [['jpeg', 'image/jpeg'], ['jpg', 'image/jpeg'], ['png', 'image/png'], ['webp', 'image/webp'], ['avif', 'image/avif'], ['gif', 'image/gif']]) {
    test(`fm=${fm} answers ${type}`, async () => {
      const { response, decoded } = await image(`${PHOTO}?w=120&fm=${fm}`);
      assert.equal(response.headers['content-type'], type);
      assert.equal(`image/${decoded.format}`, type);
      assert.equal(response.headers.vary, undefined, 'explicit formats do not vary');
    });
  }

  test('q trades bytes for fidelity', async () => {
    const low = (await image(`${PHOTO}?w=400&fm=webp&q=20`)).response.body;
    const high = (await image(`${PHOTO}?w=400&fm=webp&q=95`)).response.body;
    assert.ok(low.byteLength * 2 < high.byteLength);
  });

  test('q out of range is a 400', async () => {
    await badRequest(`${PHOTO}?q=0`);
    await badRequest(`${PHOTO}?q=101`);
  });
});

describe('geometry and effects', () => {
  test('rot=90 swaps the sides', async () => {
    const { decoded } = await image(`${PHOTO}?w=100&rot=90&fm=png`);
    assert.deepEqual([decoded.width, decoded.height], [100, 160]);
  });

  test('flip=h mirrors left-right', async () => {
    const plain = (await image(`${PHOTO}?w=200&fm=png`)).response.body;
    const flipped = (await image(`${PHOTO}?w=200&flip=h&fm=png`)).response.body;
    const mirrored = await sharp(plain).flop().png().toBuffer();
    assert.ok((await imageDistance(flipped, mirrored)) < 2);
    assert.ok((await imageDistance(flipped, plain)) > 5);
  });

  test('flip=v and flip=hv', async () => {
    const plain = (await image(`${PHOTO}?w=200&fm=png`)).response.body;
    const v = (await image(`${PHOTO}?w=200&flip=v&fm=png`)).response.body;
    const hv = (await image(`${PHOTO}?w=200&flip=hv&fm=png`)).response.body;
    assert.ok((await imageDistance(v, await sharp(plain).flip().png().toBuffer())) < 2);
    assert.ok((await imageDistance(hv, await sharp(plain).rotate(180).png().toBuffer())) < 2);
  });

  test('crop takes a region of the original before resizing', async () => {
    const { response, decoded } = await image(`${PHOTO}?crop=0,0,1280,800&w=320&fm=png`);
    assert.deepEqual([decoded.width, decoded.height], [320, 200]);
    const expected = await sharp(`${CORPUS}${PHOTO}`).extract({ left: 0, top: 0, width: 1280, height: 800 }).png().toBuffer();
    assert.ok((await imageDistance(response.body, expected)) < 3);
  });

  test('blur and sharpen', async () => {
    const plain = (await image(`${PHOTO}?w=300&fm=png`)).response.body;
    const blurred = (await image(`${PHOTO}?w=300&fm=png&blur=5`)).response.body;
    const sharpened = (await image(`${PHOTO}?w=300&fm=png&sharpen=1.5`)).response.body;
    const [p, b, s] = await Promise.all([plain, blurred, sharpened].map((x) => sharp(x).stats()));
    assert.ok(b!.sharpness < p!.sharpness);
    assert.ok(s!.sharpness > p!.sharpness);
  });

  test('bg pads contain and flattens alpha into JPEG', async () => {
    const padded = (await image(`${PHOTO}?w=200&h=200&fit=contain&bg=0000ff&fm=png`)).response.body;
    const [r, g, b] = await meanColour(padded, { left: 0, top: 0, width: 200, height: 20 });
    assert.ok(b > 240 && r < 20 && g < 20, `${r},${g},${b}`);
    const flattened = await image('/png/rgba-soft-alpha.png?w=100&fm=jpeg&bg=ff0000');
    assert.equal(flattened.decoded.hasAlpha, false);
    const corner = await meanColour(flattened.response.body, { left: 0, top: 0, width: 5, height: 5 });
    assert.ok(corner[0] > 200 && corner[1] < 60, `${corner}`);
  });

  test('anim=1 keeps GIF frames; without it the first frame', async () => {
    const animated = await image('/anim/photo-pan-24f.gif?w=160&anim=1&fm=gif');
    assert.equal(animated.decoded.pages, 24);
    const still = await image('/anim/photo-pan-24f.gif?w=160&fm=gif');
    assert.equal(still.decoded.pages, 1);
  });

  test('invalid values of every parameter are 400s that name it', async () => {
    const cases: [string, string][] = [
      ['w=abc', 'w'], ['h=-1', 'h'], ['fit=stretch', 'fit'], ['pos=middle', 'pos'], ['dpr=5', 'dpr'],
      ['enlarge=yes', 'enlarge'], ['q=1.5', 'q'], ['fm=bmp', 'fm'], ['rot=360', 'rot'], ['flip=x', 'flip'],
      ['blur=1000', 'blur'], ['sharpen=0', 'sharpen'], ['bg=red', 'bg'], ['crop=1,2,3', 'crop'], ['anim=2', 'anim'],
      ['w=', 'w'], ['crop=0,0,0,10', 'crop'],
    ];
    for (const [query, param] of cases) {
      const error = jsonError(await badRequest(`${PHOTO}?${query}`));
      assert.equal(error.code, 'INVALID_PARAMS');
      assert.deepEqual(error.problems?.map((p) => p.param), [param], query);
    }
  });

  test('unknown and repeated parameters are refused together, each named', async () => {
    const response = await badRequest(`${PHOTO}?w=10&width=10&w=20&utm_source=x`);
    const error = jsonError(response);
    assert.deepEqual(error.problems?.map((p) => p.param).sort(), ['utm_source', 'w', 'width']);
    assert.equal(response.headers['cache-control'], 'public, max-age=60');
  });
});

describe('format negotiation (fm=auto, the default)', () => {
  const TYPES = { avif: 'image/avif', webp: 'image/webp', legacy: 'image/jpeg' } as const;
  for (const [browser, accept, token] of BROWSER_ACCEPTS) {
    const type = TYPES[token];
    test(`${browser} gets ${type} with Vary: Accept`, async () => {
      const { response, decoded } = await image(`${PHOTO}?w=100`, { accept });
      assert.equal(response.headers['content-type'], type);
      assert.equal(`image/${decoded.format}`, type);
      assert.equal(response.headers.vary, 'Accept, X-Image-Format-Token');
    });
  }

  test('old browsers get PNG when the image has alpha', async () => {
    const { response, decoded } = await image('/png/rgba-soft-alpha.png?w=100', { accept: 'image/png,image/*;q=0.8' });
    assert.equal(response.headers['content-type'], 'image/png');
    assert.equal(decoded.hasAlpha, true);
  });
});
