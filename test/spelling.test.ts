/**
 * One spelling per result. A CDN keys on the URL as sent, so every accepted second spelling of a
 * request is another cache entry and another origin miss: unsigned URLs with empty pairs, leading
 * zeros or needless percent-encoding are refused (400), and a signed URL is accepted only exactly
 * as it was signed (403 for every mutation).
 */
import { singleWatermark } from '../transforms/watermark.js';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_PRESET_FILE } from '../presets/default-presets.js';
import { createPresetCatalog } from '../presets/preset-registry.js';
import { toErrorResponse } from '../origin/http/error-response.js';
import { readRequest, type RequestDeps } from '../origin/request/read-request.js';
import { signPathAndQuery } from '../origin/signing.js';
import { buildImageUrl } from '../origin/url-builder.js';
import { imageJob } from '../origin/load/jobs.js';
import type { SourceKey } from '../origin/sources/source.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { createSpecParser } from '../transforms/parse-spec.js';
import { specFor } from './helpers/specs.js';

const parseSpec = createSpecParser(DEFAULT_LIMITS);
const deps: RequestDeps = { parseSpec, catalog: createPresetCatalog(DEFAULT_PRESET_FILE, parseSpec), presetsOnly: false, signingKeys: [] };
const KEY = 'another-signing-key-32-characters';

function read(url: string, signingKeys: readonly string[] = []) {
  const at = url.indexOf('?');
  const [path, rawQuery] = at === -1 ? [url, ''] : [url.slice(0, at), url.slice(at + 1)];
  return readRequest({ ...deps, signingKeys }, { path, rawQuery, header: () => undefined });
}

describe('unsigned URLs: one spelling per result', () => {
  const refused: [string, string, string][] = [
    ['/a.jpg?w=0100', 'w', 'must be written as 100'],
    ['/a.jpg?w=000100', 'w', 'must be written as 100'],
    ['/a.jpg?dpr=2.0', 'dpr', 'must be written as 2'],
    ['/a.jpg?blur=1.50', 'blur', 'must be written as 1.5'],
    ['/a.jpg?bri=-0', 'bri', 'must be written as 0'],
    ['/a.jpg?q=080&fm=webp', 'q', 'must be written as 80'],
    ['/a.jpg?crop=010,0,10,10', 'crop', 'must be x,y,w,h in whole pixels, without leading zeros'],
    ['/a.jpg?icrop=x,050,1', 'icrop', 'must be x|y,size,index without leading zeros (e.g. x,200,1)'],
    ['/a.jpg?w=100&&&', 'query', 'has an empty parameter (a stray "&")'],
    ['/a.jpg?w=100&', 'query', 'has an empty parameter (a stray "&")'],
    ['/a.jpg?&w=100', 'query', 'has an empty parameter (a stray "&")'],
    ['/a.jpg?w=%31%30%30', 'w', 'must be written w=100'],
    ['/a.jpg?fm=web%70', 'fm', 'must be written fm=webp'],
    ['/a.jpg?%77=100', 'w', 'its name must be written w'],
    ['/a.jpg?x-oss-process=image%2Fresize,w_100', 'x-oss-process', 'must be written x-oss-process=image/resize,w_100'],
    ['/a.jpg?x-oss-process=image/resize,w_0100', 'resize.w', 'must be written as 100'],
  ];
  for (const [url, param, message] of refused) {
    test(`${url} → 400 naming ${param}`, () => {
      assert.throws(() => read(url), (error: { status?: number; problems?: readonly { param: string; message: string }[] }) => {
        assert.equal(error.status, 400);
        assert.ok(error.problems?.some((p) => p.param === param && p.message === message), JSON.stringify(error.problems));
        return true;
      });
    });
  }

  test('the URL builder writes exactly the spelling the origin accepts', () => {
    const url = buildImageUrl('a.jpg', { w: 100, dpr: 1.5, blur: 0.5, crop: [0, 10, 20, 30], bg: 'ff000080', fm: 'webp' });
    assert.equal(read(url).kind, 'variant');
  });
});

describe('signed URLs: only the signed spelling', () => {
  const signed = signPathAndQuery('/a.jpg?w=100&fm=webp', KEY);
  const sig = signed.slice(signed.indexOf('sig=') + 4);
  const base = signed.slice(0, signed.indexOf('&sig='));
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  // 32 bytes are 43 base64url characters: the last one carries two unused bits.
  const lastChar = sig[sig.length - 1] ?? 'A';
  const sameBytes = ALPHABET[ALPHABET.indexOf(lastChar) ^ 1] ?? 'A';
  const standard = sig.replace(/_/g, '%2F').replace(/-/g, '%2B');

  test('the signed URL itself is accepted', () => assert.equal(read(signed, [KEY]).kind, 'variant'));

  const mutations: [string, string][] = [
    ['"=" appended', `${signed}=`],
    ['"==" appended', `${signed}==`],
    ['a trailing "."', `${signed}.`],
    ['%20 inside the signature', `${base}&sig=${sig.slice(0, 10)}%20${sig.slice(10)}`],
    ['a letter percent-encoded', `${base}&sig=${sig.slice(0, 5)}%${sig.charCodeAt(5).toString(16)}${sig.slice(6)}`],
    ['the last character changed in its unused bits', `${base}&sig=${sig.slice(0, -1)}${sameBytes}`],
    ['"&&&" before sig', `${base}&&&sig=${sig}`],
    ['a trailing "&"', `${signed}&`],
    ['sig moved to the front', `/a.jpg?sig=${sig}&w=100&fm=webp`],
    ['sig given twice', `${signed}&sig=${sig}`],
  ];
  if (standard !== sig) mutations.push(['the standard base64 alphabet', `${base}&sig=${standard}`]);
  for (const [what, url] of mutations) {
    test(`${what} → 403`, () => assert.throws(() => read(url, [KEY]), { status: 403 }));
  }
});

describe('error bodies are bounded', () => {
  test('1,500 unknown parameters list 20 problems and count the rest', () => {
    const query = Array.from({ length: 1500 }, (_, i) => `p${i}=1`).join('&');
    assert.ok(query.length > 10_000);
    let thrown: unknown;
    try {
      read(`/a.jpg?${query}`);
    } catch (error) {
      thrown = error;
    }
    const { status, body } = toErrorResponse(thrown, 'public, max-age=60');
    assert.equal(status, 400);
    assert.equal(body.error.problems?.length, 20);
    assert.equal(body.error.omittedProblems, 1480);
    assert.ok(JSON.stringify(body).length < 3000, `${JSON.stringify(body).length} bytes`);
  });
});

describe('keys are decoded once', () => {
  test('an OSS watermark object key is used as decoded from its base64, not percent-decoded again', () => {
    const encoded = Buffer.from('logos/a%41.png').toString('base64url');
    const request = read(`/a.jpg?x-oss-process=image/watermark,image_${encoded}`);
    assert.equal(request.kind === 'variant' && (singleWatermark(request.watermark) as { key?: string } | undefined)?.key, 'logos/a%41.png');
    const spec = specFor('', 'legacy', DEFAULT_LIMITS, request.kind === 'variant' && request.watermark ? { watermark: request.watermark } : {});
    const job = imageJob('a.jpg' as SourceKey, spec);
    assert.equal(job.kind === 'image' && job.logoKey, 'logos/a%41.png');
  });
});
