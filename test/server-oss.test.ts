/** The OSS dialect through the real server: same variant as native, OSS-shaped info, refusals. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decode } from './helpers/images.js';
import { jsonError, rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { CORPUS } from '../support/paths.js';

let origin: RunningOrigin;
before(async () => {
  origin = await startOrigin({ ORIGIN_SOURCE: `fs:${CORPUS}` });
});
after(() => origin.close());

const PHOTO = '/photos/evening-glow-baseline.jpg';
const oss = (value: string) => rawGet(origin.url, `${PHOTO}?x-oss-process=${value}`);

describe('x-oss-process through the server', () => {
  test('an OSS URL and its native equivalent are one variant with one ETag', async () => {
    const viaOss = await oss('image/resize,m_fill,w_100,h_100/quality,Q_70/format,webp');
    const native = await rawGet(origin.url, `${PHOTO}?w=100&h=100&fit=cover&q=70&fm=webp&anim=1`);
    assert.equal(viaOss.status, 200);
    assert.equal(viaOss.headers.etag, native.headers.etag);
    const d = await decode(viaOss.body);
    assert.deepEqual([d.format, d.width, d.height], ['webp', 100, 100]);
  });

  test('style/<name> is the preset of that name', async () => {
    const style = await oss('style/thumb');
    const preset = await rawGet(origin.url, `${PHOTO}?preset=thumb`);
    assert.equal(style.headers.etag, preset.headers.etag);
  });

  test('a style in the path (!thumb) is the same variant as preset=thumb; unknown is 404, with parameters 400', async () => {
    const styled = await rawGet(origin.url, `${PHOTO}!thumb`);
    const preset = await rawGet(origin.url, `${PHOTO}?preset=thumb`);
    assert.equal(styled.status, 200);
    assert.equal(styled.headers.etag, preset.headers.etag);
    const d = await decode(styled.body);
    assert.deepEqual([d.width, d.height], [200, 200]);
    assert.equal((await rawGet(origin.url, `${PHOTO}!nope`)).status, 404);
    assert.equal(jsonError(await rawGet(origin.url, `${PHOTO}!nope`)).code, 'UNKNOWN_PRESET');
    assert.equal((await rawGet(origin.url, `${PHOTO}!thumb?w=10`)).status, 400);
  });

  test('resize,p_ above 100 enlarges, as scale=N&enlarge=1', async () => {
    const viaOss = await oss('image/crop,w_100,h_50/resize,p_250');
    const native = await rawGet(origin.url, `${PHOTO}?crop=0,0,100,50&scale=250&enlarge=1`);
    assert.equal(viaOss.headers.etag, native.headers.etag);
    const d = await decode(viaOss.body);
    assert.deepEqual([d.width, d.height], [250, 125]);
    const unenlarged = await decode((await rawGet(origin.url, `${PHOTO}?crop=0,0,100,50&scale=250`)).body);
    assert.deepEqual([unenlarged.width, unenlarged.height], [100, 50]);
  });

  test('image/info and image/average-hue answer in OSS shape', async () => {
    const info = JSON.parse((await oss('image/info')).body.toString()) as Record<string, { value: string }>;
    assert.deepEqual([info.ImageWidth?.value, info.ImageHeight?.value, info.Format?.value, info.FileSize?.value], ['2560', '1600', 'jpg', '632699']);
    const hue = JSON.parse((await oss('image/average-hue')).body.toString()) as { RGB: string };
    assert.match(hue.RGB, /^0x[0-9a-f]{6}$/);
  });

  test('rotate at any angle is the native rot: same ETag, same image', async () => {
    const viaOss = await oss('image/rotate,45/resize,w_300/format,png');
    const native = await rawGet(origin.url, `${PHOTO}?rot=45&w=300&fm=png&anim=1`);
    assert.equal(viaOss.status, 200);
    assert.equal(viaOss.headers.etag, native.headers.etag);
    const decoded = await decode(viaOss.body);
    assert.deepEqual([decoded.width, decoded.height], [300, 300]);
  });

  test('unsupported operations and mixing dialects are 400s that name the problem', async () => {
    // A turn by other than a quarter after a resize does not commute with it.
    const rotate = await oss('image/resize,w_100/rotate,45');
    assert.equal(rotate.status, 400);
    assert.equal(jsonError(rotate).code, 'UNSUPPORTED_OSS_OPERATION');
    assert.match(JSON.stringify(jsonError(rotate).problems), /rotate/);
    const mixed = await rawGet(origin.url, `${PHOTO}?x-oss-process=image/resize,w_100&w=100`);
    assert.equal(mixed.status, 400);
    assert.equal(jsonError(mixed).problems?.[0]?.param, 'w');
  });
});
