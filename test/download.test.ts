/**
 * `dl=<name>` through real sockets: Content-Disposition with an ASCII `filename` and the full
 * UTF-8 `filename*` (decoded back here), names with quotes, slashes, control characters and
 * non-ASCII sanitized, its own variant (ETag), and never on a 304.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildImageUrl } from '../origin/url-builder.js';
import { sanitizeFileName } from '../transforms/file-name.js';
import { jsonError, rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { SAMPLES } from '../support/paths.js';

let origin: RunningOrigin;
before(async () => {
  origin = await startOrigin({ ORIGIN_SOURCE: `fs:${SAMPLES}` });
});
after(() => origin.close());

interface Disposition {
  readonly type: string;
  readonly filename: string;
  readonly filenameStar: string;
}

/** Reads the header the way RFC 6266 clients do: the quoted `filename` unescaped, `filename*` percent-decoded. */
function parseDisposition(header: string | string[] | undefined): Disposition {
  const value = String(header);
  const quoted = /filename="((?:[^"\\]|\\.)*)"/.exec(value)?.[1] ?? '';
  const star = /filename\*=UTF-8''([^;\s]*)/.exec(value)?.[1] ?? '';
  return { type: value.split(';')[0] ?? '', filename: quoted.replace(/\\(.)/g, '$1'), filenameStar: decodeURIComponent(star) };
}

/** Written by the URL builder: the origin accepts each value in one spelling only. */
const download = (name: string) => rawGet(origin.url, buildImageUrl('evening-glow.jpg', { w: 80, fm: 'jpeg', dl: name }));

describe('downloads (dl=)', () => {
  test('a plain name: attachment with both forms', async () => {
    const r = await download('evening.jpg');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-disposition'], `attachment; filename="evening.jpg"; filename*=UTF-8''evening.jpg`);
  });

  test('quotes are escaped in filename and encoded in filename*', async () => {
    const d = parseDisposition((await download('say "cheese".jpg')).headers['content-disposition']);
    assert.deepEqual(d, { type: 'attachment', filename: 'say "cheese".jpg', filenameStar: 'say "cheese".jpg' });
  });

  test('slashes and backslashes cannot name a directory', async () => {
    const d = parseDisposition((await download('../../etc/passwd\\x.jpg')).headers['content-disposition']);
    assert.equal(d.filenameStar, '_.._etc_passwd_x.jpg');
    assert.equal(d.filename, '_.._etc_passwd_x.jpg');
  });

  test('control characters (header injection) are dropped', async () => {
    const r = await download('a\r\nSet-Cookie: x=1\u0000.jpg');
    assert.equal(r.headers['set-cookie'], undefined);
    assert.equal(parseDisposition(r.headers['content-disposition']).filenameStar, 'aSet-Cookie: x=1.jpg');
  });

  test('non-ASCII is kept in filename*, with an ASCII fallback in filename', async () => {
    const d = parseDisposition((await download('été 照片 🎉.jpg')).headers['content-disposition']);
    assert.equal(d.filenameStar, 'été 照片 🎉.jpg');
    assert.match(d.filename, /^[\x20-\x7e]+$/);
    assert.equal(d.filename, '_t_ __ __.jpg');
  });

  test('dl is its own variant, and a 304 sends no Content-Disposition', async () => {
    const plain = await rawGet(origin.url, '/evening-glow.jpg?w=80&fm=jpeg');
    const named = await download('x.jpg');
    assert.equal(plain.headers['content-disposition'], undefined);
    assert.notEqual(plain.headers.etag, named.headers.etag);
    const again = await rawGet(origin.url, '/evening-glow.jpg?w=80&fm=jpeg&dl=x.jpg', { 'if-none-match': String(named.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal(again.headers['content-disposition'], undefined);
  });

  test('a name that sanitizes to nothing is a 400 naming dl', async () => {
    const r = await rawGet(origin.url, '/evening-glow.jpg?dl=..');
    assert.equal(r.status, 400);
    assert.deepEqual(jsonError(r).problems, [{ param: 'dl', message: 'must be a file name' }]);
  });
});

describe('sanitizeFileName', () => {
  test('caps the length in code points, drops bidi overrides and leading dots', () => {
    assert.equal(Array.from(sanitizeFileName('照'.repeat(300))).length, 200);
    assert.equal(sanitizeFileName('🎉'.repeat(250)), '🎉'.repeat(200));
    assert.equal(sanitizeFileName('photo\u202egpj.exe'), 'photogpj.exe');
    assert.equal(sanitizeFileName('  .hidden. '), 'hidden');
  });
});
