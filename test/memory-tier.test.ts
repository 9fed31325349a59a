/**
 * The in-memory tier with plain values: each value states its own size, keys are one character
 * unless a test is about keys, so every figure below is a sum that can be checked by hand.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryTier, type MemoryTierOptions } from '../origin/cache/memory-tier.js';

interface Blob {
  readonly size: number;
}

const blob = (size: number): Blob => ({ size });

function tierOf(options: Partial<MemoryTierOptions> = {}) {
  return createMemoryTier<Blob>({ maxBytes: 100, maxEntryShare: 1, ttlSeconds: 3600, ...options }, (b) => b.size);
}

/** Which of `keys` the tier still holds. */
const kept = (tier: ReturnType<typeof tierOf>, keys: string) => [...keys].filter((key) => tier.get(key) !== undefined).join('');

describe('memory tier', () => {
  test('keeps values and counts their bytes plus their keys', () => {
    const tier = tierOf();
    const a = blob(10);
    tier.set('a', a);
    assert.equal(tier.get('a'), a);
    assert.equal(tier.bytes, 11);
    tier.set('long-key', blob(10));
    assert.equal(tier.bytes, 11 + 18);
    tier.set('a', blob(20));
    assert.equal(tier.bytes, 21 + 18, 'replacing a value recounts its bytes');
  });

  test('past the byte budget the least-recently-used entries go first', () => {
    const tier = tierOf();
    for (const key of 'abc') tier.set(key, blob(29));
    assert.equal(tier.bytes, 90);
    assert.ok(tier.get('a'), 'reading a makes b the least recently used');
    tier.set('d', blob(29));
    assert.equal(kept(tier, 'abcd'), 'acd');
    assert.equal(tier.bytes, 90);
  });

  test('one large entry evicts as many old ones as it needs room for', () => {
    const tier = tierOf();
    for (const key of 'abcde') tier.set(key, blob(19));
    assert.equal(tier.bytes, 100);
    tier.set('z', blob(59));
    assert.equal(kept(tier, 'abcdez'), 'dez');
    assert.equal(tier.bytes, 100);
  });

  test('an entry larger than `maxEntryShare` of the tier is not kept, and evicts nothing', () => {
    const tier = tierOf({ maxEntryShare: 0.25 });
    tier.set('a', blob(24));
    assert.equal(tier.bytes, 25, 'exactly the share is kept');
    tier.set('b', blob(25));
    assert.equal(tier.get('b'), undefined);
    assert.equal(kept(tier, 'a'), 'a');
    assert.equal(tier.bytes, 25);
  });

  test('an oversized new value for a kept key does not leave the old value behind', () => {
    const tier = tierOf({ maxEntryShare: 0.25 });
    tier.set('a', blob(10));
    tier.set('a', blob(50));
    assert.equal(tier.get('a'), undefined);
    assert.equal(tier.bytes, 0);
  });

  test('the key counts toward the entry share: a long key can make an entry too large to keep', () => {
    const tier = tierOf({ maxEntryShare: 0.2 });
    tier.set('k', blob(15));
    tier.set('ten-chars!', blob(15));
    assert.equal(kept(tier, 'k'), 'k');
    assert.equal(tier.get('ten-chars!'), undefined);
    assert.equal(tier.bytes, 16);
  });

  test('values of no size are still bounded by their keys', () => {
    const tier = tierOf({ maxBytes: 50 });
    const keys = Array.from({ length: 20 }, (_, i) => `key-${String(i).padStart(6, '0')}`);
    for (const key of keys) tier.set(key, blob(0));
    assert.equal(tier.bytes, 50);
    assert.deepEqual(
      keys.filter((key) => tier.get(key) !== undefined),
      keys.slice(-5),
    );
  });

  test('`maxBytes: 0` keeps nothing', () => {
    const tier = tierOf({ maxBytes: 0 });
    tier.set('a', blob(1));
    tier.set('', blob(0));
    assert.equal(tier.get('a'), undefined);
    assert.equal(tier.get(''), undefined, 'not even an entry of the smallest size');
    assert.equal(tier.bytes, 0);
  });

  describe('time to live', () => {
    test('an entry is gone once its TTL has passed (real clock)', async () => {
      const tier = tierOf({ ttlSeconds: 0.05 });
      tier.set('a', blob(10));
      assert.equal(tier.bytes, 11, 'kept when set');
      await sleep(120);
      assert.equal(tier.get('a'), undefined);
      assert.equal(tier.bytes, 0, 'the expired entry no longer counts');
    });

    test('an entry lives exactly its TTL (clock stepped by hand)', async (t) => {
      // lru-cache reads the global performance clock; stepping it makes the boundary exact.
      let now = 1_000_000;
      t.mock.method(performance, 'now', () => now);
      const tier = tierOf({ ttlSeconds: 10 });
      const a = blob(10);
      tier.set('a', a);
      now += 10_000;
      assert.equal(tier.get('a'), a, 'still fresh at its TTL');
      now += 1;
      // lru-cache reuses a clock reading for 1 ms of real time; a 2 ms timer set later fires after that.
      await sleep(2);
      assert.equal(tier.get('a'), undefined);
      assert.equal(tier.bytes, 0);
    });
  });
});
