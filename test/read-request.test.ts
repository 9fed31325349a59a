/**
 * Reading requests, without sockets: every dialect (native parameters, presets, the OSS
 * `x-oss-process` dialect, `?info=1`) lands as the same requested spec, and refusals happen here.
 */
import { DEFAULT_TEXT_STYLE, singleWatermark } from '../transforms/watermark.js';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_PRESET_FILE } from '../presets/default-presets.js';
import { createPresetCatalog } from '../presets/preset-registry.js';
import { readRequest, type RequestDeps } from '../origin/request/read-request.js';
import { signPathAndQuery } from '../origin/signing.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { createSpecParser } from '../transforms/parse-spec.js';

const parseSpec = createSpecParser(DEFAULT_LIMITS);
const deps: RequestDeps = { parseSpec, catalog: createPresetCatalog(DEFAULT_PRESET_FILE, parseSpec), presetsOnly: false, signingKeys: [] };
const KEY = 'a-signing-key-of-32-characters!!';

function read(url: string, overrides: Partial<RequestDeps> = {}) {
  const [path = '', rawQuery = ''] = url.split('?');
  return readRequest({ ...deps, ...overrides }, { path, rawQuery, header: () => undefined });
}

const specOf = (url: string) => {
  const request = read(url);
  assert.equal(request.kind, 'variant');
  return request.kind === 'variant' ? request.spec : undefined;
};

describe('readRequest', () => {
  test('native parameters become a typed requested spec, defaults not yet filled', () => {
    assert.deepEqual(specOf('/a.jpg?w=400&fm=jpg&crop=1,2,30,40&blur=1.5'), { w: 400, fm: 'jpeg', crop: [1, 2, 30, 40], blur: 1.5 });
    assert.deepEqual(read('/photos/my%20cat.jpg').key, 'photos/my cat.jpg');
  });

  test('a preset expands to its parameters, with the overrides it allows, and comes along for its settings', () => {
    const request = read('/a.jpg?preset=thumb&dpr=2');
    assert.equal(request.kind, 'variant');
    if (request.kind !== 'variant') return;
    assert.deepEqual(request.spec, { w: 200, h: 200, fit: 'cover', pos: 'attention', dpr: 2 });
    assert.equal(request.preset?.name, 'thumb');
    assert.throws(() => read('/a.jpg?preset=thumb&w=5'), { status: 400, problems: [{ param: 'w', message: 'not allowed with preset "thumb" (overridable: dpr, fm)' }] });
  });

  test('an OSS URL lands as the same spec as its native spelling', () => {
    assert.deepEqual(specOf('/a.jpg?x-oss-process=image/resize,m_fill,w_100,h_100'), specOf('/a.jpg?w=100&h=100&fit=cover&anim=1'));
    assert.throws(() => read('/a.jpg?x-oss-process=image/resize,w_100&w=5'), { status: 400, problems: [{ param: 'w', message: 'cannot be combined with x-oss-process' }] });
  });

  test('a style in the path (a.jpg!thumb) is style/thumb is preset=thumb, and stands alone', () => {
    assert.deepEqual(read('/photos/a.jpg!thumb'), read('/photos/a.jpg?preset=thumb'));
    assert.deepEqual(read('/photos/a.jpg!thumb'), read('/photos/a.jpg?x-oss-process=style/thumb'));
    assert.throws(() => read('/a.jpg!thumb?w=5'), { status: 400, problems: [{ param: 'w', message: 'cannot be combined with a style in the path ("thumb")' }] });
    assert.throws(() => read('/a.jpg!nope'), { status: 404, code: 'UNKNOWN_PRESET' });
    assert.throws(() => read('/a.jpg!'), { status: 400, problems: [{ param: 'style', message: '"!" must be followed by a style name (names are 1-64 letters, digits, _, - or .)' }] });
    // An encoded ! is part of the key; a ! in an earlier segment is too.
    assert.equal(read('/a%21b.jpg').key, 'a!b.jpg');
    assert.equal(read('/x!y/a.jpg').key, 'x!y/a.jpg');
  });

  test('with - and _ as delimiters, only a known style after them splits the key', () => {
    const all = { styleDelimiters: ['!', '-', '_', '@!'] as const };
    assert.equal(read('/my-photo.jpg', all).key, 'my-photo.jpg');
    assert.equal(read('/my_photo.jpg', all).key, 'my_photo.jpg');
    const styled = read('/my-photo.jpg-thumb', all);
    assert.deepEqual(styled, read('/my-photo.jpg?preset=thumb'));
    assert.deepEqual(read('/a.jpg_avatar', all), read('/a.jpg?preset=avatar'));
    assert.deepEqual(read('/a.jpg@!feed', all), read('/a.jpg?preset=feed'));
    assert.equal(read('/a.jpg%2Dthumb', all).key, 'a.jpg-thumb');
    // Only configured delimiters count.
    assert.equal(read('/a.jpg-thumb').key, 'a.jpg-thumb');
  });

  test('preset names follow OSS style names: any case, digits, _, - and .', () => {
    const catalog = createPresetCatalog({ presets: { 'Small_v2.x-y': { params: { w: 50 } } } }, parseSpec);
    assert.deepEqual(specOf('/a.jpg?preset=thumb'), { w: 200, h: 200, fit: 'cover', pos: 'attention' });
    for (const url of ['/a.jpg!Small_v2.x-y', '/a.jpg?x-oss-process=style/Small_v2.x-y', '/a.jpg?preset=Small_v2.x-y']) {
      const request = read(url, { catalog });
      assert.equal(request.kind === 'variant' && request.preset?.name, 'Small_v2.x-y', url);
      assert.deepEqual(request.kind === 'variant' && request.spec, { w: 50 }, url);
    }
  });

  test('info stands alone, in the native or the OSS shape', () => {
    assert.deepEqual(read('/a.jpg?info=1'), { kind: 'info', key: 'a.jpg', shape: 'native' });
    assert.deepEqual(read('/a.jpg?x-oss-process=image/info'), { kind: 'info', key: 'a.jpg', shape: 'oss-info' });
    assert.throws(() => read('/a.jpg?info=1&w=3'), { status: 400, problems: [{ param: 'w', message: 'cannot be combined with info' }] });
  });

  test('unknown, repeated and out-of-range parameters are one 400 naming each', () => {
    assert.throws(() => read('/a.jpg?w=0&w=3&utm_source=x&sat=200'), {
      status: 400,
      problems: [
        { param: 'w', message: 'must be at least 1' },
        { param: 'w', message: 'given more than once' },
        { param: 'utm_source', message: 'unknown parameter' },
        { param: 'sat', message: 'must be at most 100' },
      ],
    });
  });

  test('watermarks: a named one resolves to its definition; free text only on signed URLs', () => {
    const named = read('/a.jpg?wm=sample-logo');
    assert.equal(named.kind === 'variant' && singleWatermark(named.watermark)?.kind, 'image');
    assert.throws(() => read('/a.jpg?wmt=hello'), { status: 400, problems: [{ param: 'wmt', message: 'free watermark text is accepted on signed URLs only' }] });
    assert.throws(() => read('/a.jpg?wm=nope'), { status: 400, problems: [{ param: 'wm', message: 'no watermark named "nope"' }] });
    const signed = read(signPathAndQuery('/a.jpg?wmt=hello', KEY), { signingKeys: [KEY] });
    assert.equal(signed.kind === 'variant' && JSON.stringify(singleWatermark(signed.watermark)), JSON.stringify({ ...DEFAULT_TEXT_STYLE, text: 'hello' }));
  });

  test('with signing on, the signature is checked first and then removed from the parameters', () => {
    const signing = { signingKeys: [KEY] };
    assert.throws(() => read('/a.jpg?w=10', signing), { status: 403, code: 'SIGNATURE_REQUIRED' });
    assert.throws(() => read('/a.jpg?w=10&sig=AAAA', signing), { status: 403, code: 'INVALID_SIGNATURE' });
    assert.deepEqual(read(signPathAndQuery('/a.jpg?w=10', KEY), signing), { kind: 'variant', key: 'a.jpg', spec: { w: 10 }, preset: undefined, watermark: undefined });
  });

  test('presets-only mode refuses free parameters', () => {
    assert.throws(() => read('/a.jpg?w=10', { presetsOnly: true }), { status: 400, code: 'PRESET_REQUIRED' });
    assert.equal(read('/a.jpg?preset=feed', { presetsOnly: true }).kind, 'variant');
  });
});
