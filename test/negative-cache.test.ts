/**
 * The negative cache on a pinned clock and pinned randomness: which failures it remembers, for
 * how long (the negative TTL; a throttling store's Retry-After or doubling back-off, jittered
 * upwards and capped), and that a success or the TTL ends it. Also the Retry-After parser.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UnsupportedFormatError } from '../transforms/errors.js';
import { NotFoundError, OverloadedError, SourceTimeoutError, SourceTooLargeError, SourceUnavailableError } from '../origin/errors.js';
import { createNegativeCache, type NegativeCache } from '../origin/load/negative-cache.js';
import { isThrottleStatus, parseRetryAfter } from '../origin/sources/retry-after.js';

function pinned(options: { ttlMs?: number; backoffMaxMs?: number; random?: number } = {}): { cache: NegativeCache; advance(ms: number): void } {
  let clock = 1_000;
  const cache = createNegativeCache({
    ttlMs: options.ttlMs ?? 1_000,
    backoffMaxMs: options.backoffMaxMs ?? 10_000,
    now: () => clock,
    random: () => options.random ?? 0,
  });
  return { cache, advance: (ms) => void (clock += ms) };
}

const slowDown = (retryAfterMs?: number) => new SourceUnavailableError('503 SlowDown', { throttled: true, retryAfterMs });

/** How long `error` stays remembered, found by stepping the pinned clock 10 ms at a time. */
function lifetime(cache: NegativeCache, advance: (ms: number) => void, key: string): number {
  let ms = 0;
  while (cache.get(key) !== undefined && ms < 100_000) {
    advance(10);
    ms += 10;
  }
  return ms;
}

describe('negative cache', () => {
  test('source faults are remembered for the negative TTL, as the very same error', () => {
    const faults = [
      new NotFoundError(),
      new SourceUnavailableError('500'),
      new SourceTimeoutError('slow'),
      new SourceTooLargeError(10),
      new UnsupportedFormatError('html'),
    ];
    for (const fault of faults) {
      const { cache, advance } = pinned();
      cache.remember('k', fault);
      assert.equal(cache.get('k'), fault, fault.name);
      advance(999);
      assert.equal(cache.get('k'), fault, `${fault.name} just before the TTL`);
      advance(1);
      assert.equal(cache.get('k'), undefined, `${fault.name} at the TTL`);
    }
  });

  test('aborts, overload and bugs are never remembered', () => {
    const { cache } = pinned();
    for (const error of [new DOMException('aborted', 'AbortError'), new OverloadedError('busy'), new TypeError('bug'), 'a string']) {
      cache.remember('k', error);
      assert.equal(cache.get('k'), undefined, String(error));
    }
  });

  test('keys are separate, forget ends an entry, and a TTL of 0 remembers nothing', () => {
    const { cache } = pinned();
    cache.remember('a', new NotFoundError());
    assert.equal(cache.get('b'), undefined);
    cache.forget('a');
    assert.equal(cache.get('a'), undefined);
    const off = pinned({ ttlMs: 0 });
    off.cache.remember('a', slowDown(5_000));
    assert.equal(off.cache.get('a'), undefined);
  });

  test("a throttling store's Retry-After is honoured, jittered upwards by at most a fifth, and capped", () => {
    const exact = pinned();
    exact.cache.remember('k', slowDown(3_000));
    assert.equal(lifetime(exact.cache, exact.advance, 'k'), 3_000);
    const jittered = pinned({ random: 0.999 });
    jittered.cache.remember('k', slowDown(3_000));
    const ms = lifetime(jittered.cache, jittered.advance, 'k');
    assert.ok(ms > 3_500 && ms <= 3_600, `${ms} ms`);
    const capped = pinned({ backoffMaxMs: 2_000 });
    capped.cache.remember('k', slowDown(60_000));
    assert.equal(lifetime(capped.cache, capped.advance, 'k'), 2_000);
    const short = pinned();
    short.cache.remember('k', slowDown(0));
    assert.equal(lifetime(short.cache, short.advance, 'k'), 1_000, 'never shorter than the negative TTL');
  });

  test('without Retry-After, consecutive throttles double the back-off up to the cap; a quiet spell resets it', () => {
    const { cache, advance } = pinned({ backoffMaxMs: 5_000 });
    const lifetimes = Array.from({ length: 5 }, () => {
      cache.remember('k', slowDown());
      return lifetime(cache, advance, 'k');
    });
    assert.deepEqual(lifetimes, [1_000, 2_000, 4_000, 5_000, 5_000]);
    advance(5_010);
    cache.remember('k', slowDown());
    assert.equal(lifetime(cache, advance, 'k'), 1_000);
  });

  test('a plain fault after throttling is remembered for the negative TTL only', () => {
    const { cache, advance } = pinned();
    cache.remember('k', slowDown(4_000));
    advance(4_000);
    cache.remember('k', new SourceUnavailableError('500'));
    assert.equal(lifetime(cache, advance, 'k'), 1_000);
  });
});

describe('Retry-After', () => {
  test('delay-seconds and HTTP-dates become milliseconds; anything else is ignored', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    assert.equal(parseRetryAfter('3', now), 3_000);
    assert.equal(parseRetryAfter([' 0 '], now), 0);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', now), 5_000);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now), 0, 'a date in the past is now');
    for (const bad of [undefined, '', 'soon', '-1', '1.5']) assert.equal(parseRetryAfter(bad, now), undefined, String(bad));
  });

  test('429 and 503 are throttling; a Retry-After makes any storage error throttling', () => {
    assert.deepEqual([429, 503, 500, 502].map(isThrottleStatus), [true, true, false, false]);
    assert.equal(new SourceUnavailableError('500', { retryAfterMs: 1_000 }).throttled, true);
    assert.equal(new SourceUnavailableError('500').throttled, false);
  });
});
