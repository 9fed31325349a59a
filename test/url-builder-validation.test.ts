/**
 * The URL builder refuses what the origin would refuse, with the origin's own message, because
 * both read values through the parameter table's schemas.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildImageUrl, buildSrcset, DEFAULT_LIMITS, type ImageParams } from '../origin/url-builder.js';
import { createSpecParser } from '../transforms/parse-spec.js';

/** The message the origin's parser gives for the same query. */
function serverMessage(query: string): string {
  try {
    createSpecParser(DEFAULT_LIMITS)(new URLSearchParams(query));
  } catch (error) {
    return (error as Error).message;
  }
  return 'accepted';
}

describe('buildImageUrl validation', () => {
  test('w: 0 throws the message the server gives', () => {
    assert.throws(() => buildImageUrl('a.jpg', { w: 0 }), { message: serverMessage('w=0') });
    assert.equal(serverMessage('w=0'), 'w: must be at least 1');
  });

  test('out-of-range values, bad choices and refused combinations throw', () => {
    assert.throws(() => buildImageUrl('a.jpg', { q: 101 }), { message: 'q: must be at most 100' });
    assert.throws(() => buildImageUrl('a.jpg', { dpr: 5 }), { message: serverMessage('dpr=5') });
    assert.throws(() => buildImageUrl('a.jpg', { w: 1.5 }), { message: serverMessage('w=1.5') });
    assert.throws(() => buildImageUrl('a.jpg', { fm: 'bmp' } as unknown as ImageParams), /fm: must be one of/);
    assert.throws(() => buildImageUrl('a.jpg', { scale: 50, w: 100 }), { message: 'scale: cannot be combined with w or h' });
  });

  test('unknown options throw', () => {
    const params = { w: 100, utm_source: 'x' } as unknown as ImageParams;
    assert.throws(() => buildImageUrl('a.jpg', params), { message: 'utm_source: unknown parameter' });
  });

  test('limits passed in options replace the defaults', () => {
    const limits = { ...DEFAULT_LIMITS, maxOutputDimension: 500 };
    assert.throws(() => buildImageUrl('a.jpg', { w: 600 }, { limits }), { message: 'w: must be at most 500' });
    assert.equal(buildImageUrl('a.jpg', { w: 600 }), '/a.jpg?w=600');
  });

  test('valid values still build, presets included, and dl is encoded', () => {
    assert.equal(buildImageUrl('a.jpg', { preset: 'feed', w: 'auto', dl: 'été.jpg' }), '/a.jpg?preset=feed&w=auto&dl=%C3%A9t%C3%A9.jpg');
  });

  test('buildSrcset throws on a width the server would refuse', () => {
    assert.throws(() => buildSrcset('a.jpg', {}, { widths: [320, 0] }), { message: 'w: must be at least 1' });
    assert.throws(() => buildSrcset('a.jpg', {}, { densities: [1, 8] }), { message: serverMessage('dpr=8') });
  });
});
