/**
 * Pins the variant key format. Changing a key cold-starts every cache in front of the origin, so
 * a change here must be deliberate (and bump KEY_VERSION when meanings change).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { negotiateFormat } from '../origin/http/negotiate-format.js';
import { matchesIfNoneMatch, isNotModified } from '../origin/http/conditional.js';
import type { SourceKey } from '../origin/sources/source.js';
import { variantKey } from '../origin/variant-key.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { specFor } from './helpers/specs.js';

const key = (query: string, token: 'avif' | 'webp' | 'legacy' = 'legacy') =>
  variantKey('photos/a.jpg' as SourceKey, specFor(query, token));

describe('variant keys', () => {
  const pinned: [string, string][] = [
    // Deliberately changed (branch quality, v2): without a fixed quality the key names the quality target (`tq`).
    ['', 'v3:photos/a.jpg?fit=inside&enlarge=0&rot=0&anim=0&fm=auto-legacy&tq=77'],
    ['w=400&fm=webp', 'v3:photos/a.jpg?w=400&fit=inside&enlarge=0&rot=0&anim=0&fm=webp&tq=77'],
    ['w=300&h=200&fit=cover&pos=attention&fm=avif&q=60', 'v3:photos/a.jpg?w=300&h=200&fit=cover&pos=attention&enlarge=0&rot=0&anim=0&fm=avif&q=60'],
    // Deliberately changed (branch long-images): `bg` cannot change an explicit PNG without `contain`, so it left this key.
    ['crop=10,20,300,400&rot=90&flip=hv&blur=1.5&sharpen=2&bg=F00&anim=1&fm=png&q=50', 'v3:photos/a.jpg?fit=inside&enlarge=0&crop=10,20,300,400&rot=90&flip=hv&blur=1.5&sharpen=2&anim=1&fm=png'],
    ['w=100&h=100&fit=contain&bg=F00&fm=png', 'v3:photos/a.jpg?w=100&h=100&fit=contain&pos=center&enlarge=0&rot=0&bg=ff0000&anim=0&fm=png'],
    ['w=100&h=100&fit=contain&bg=ffffff80&fm=jpg', 'v3:photos/a.jpg?w=100&h=100&fit=contain&pos=center&enlarge=0&rot=0&bg=ffffff80&anim=0&fm=jpeg&tq=77'],
  ];
  for (const [query, expected] of pinned) {
    test(`?${query || '(nothing)'} → ${expected}`, () => assert.equal(key(query), expected));
  }

  test('parameter order, explicit defaults and DPR spellings give one key', () => {
    const one = key('w=100&q=80&fm=jpeg');
    assert.equal(key('q=80&w=100&fm=jpeg'), one);
    const target = key('w=100&fm=jpeg');
    for (const q of ['fm=jpeg&w=100', 'w=50&dpr=2&fm=jpeg', 'w=100&fm=jpeg&fit=outside', 'w=100&fm=jpeg&pos=top&enlarge=0']) {
      assert.equal(key(q), target, q);
    }
  });

  test('the key names the quality target, not a quality; a fixed quality names no target', () => {
    const at = (qualityTarget: number, query = 'w=100&fm=webp') =>
      variantKey('photos/a.jpg' as SourceKey, specFor(query, 'legacy', DEFAULT_LIMITS, { qualityTarget }));
    assert.match(at(82), /&fm=webp&tq=82$/);
    assert.notEqual(at(82), at(77));
    assert.equal(at(82, 'w=100&fm=webp&q=70'), at(77, 'w=100&fm=webp&q=70'));
    assert.doesNotMatch(at(82, 'w=100&fm=png'), /tq=/);
    assert.match(at(82, 'w=100&fm=webp&q=70'), /&q=70$/);
    const measured = variantKey('photos/a.jpg' as SourceKey, specFor('w=100&fm=webp', 'legacy', DEFAULT_LIMITS, { qualityTarget: 77, autoQuality: true }));
    assert.match(measured, /&fm=webp&tq=77&aq=1$/, 'autoquality is its own variant');
  });

  test('the negotiated token is part of the key; the raw Accept header never is', () => {
    assert.notEqual(key('w=100', 'avif'), key('w=100', 'webp'));
    assert.match(key('w=100', 'avif'), /fm=auto-avif&tq=77$/);
  });

  test('DPR and caps keep the aspect ratio', () => {
    const spec = specFor('w=3000&h=1500&dpr=4&fit=cover');
    assert.deepEqual([spec.w, spec.h], [DEFAULT_LIMITS.maxOutputDimension, DEFAULT_LIMITS.maxOutputDimension / 2]);
  });
});

describe('Accept negotiation', () => {
  test('only explicit, non-zero image/avif and image/webp count', () => {
    assert.equal(negotiateFormat('image/avif;q=0,image/webp'), 'webp');
    assert.equal(negotiateFormat('image/webp;q=0.5'), 'webp');
    assert.equal(negotiateFormat('image/*'), 'legacy');
    assert.equal(negotiateFormat(undefined), 'legacy');
    assert.equal(negotiateFormat('IMAGE/AVIF'), 'avif');
  });
});

describe('conditional request rules', () => {
  test('If-None-Match uses weak comparison over a list', () => {
    assert.ok(matchesIfNoneMatch('"a", W/"b"', '"b"'));
    assert.ok(matchesIfNoneMatch('*', '"b"'));
    assert.ok(!matchesIfNoneMatch('"ab"', '"b"'));
  });

  test('If-None-Match wins over If-Modified-Since', () => {
    const lastModified = new Date('2026-01-01T00:00:00.500Z');
    assert.ok(isNotModified({ ifModifiedSince: 'Thu, 01 Jan 2026 00:00:00 GMT' }, '"e"', lastModified));
    assert.ok(!isNotModified({ ifNoneMatch: '"other"', ifModifiedSince: 'Thu, 01 Jan 2026 00:00:00 GMT' }, '"e"', lastModified));
    assert.ok(!isNotModified({ ifModifiedSince: 'Wed, 31 Dec 2025 23:59:59 GMT' }, '"e"', lastModified));
    assert.ok(!isNotModified({ ifModifiedSince: 'garbage' }, '"e"', lastModified));
  });
});
