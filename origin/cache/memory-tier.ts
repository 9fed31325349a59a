/**
 * One in-memory cache tier: least-recently-used, bounded by bytes (not entries, since a thumbnail
 * and a full-size original differ a thousandfold), with a time-to-live after which the source is
 * asked again. An entry bigger than `maxEntryShare` of the tier is served but not kept, so one
 * huge image cannot evict hundreds of hot small ones.
 */
import { LRUCache } from 'lru-cache';

export interface MemoryTierOptions {
  readonly maxBytes: number;
  readonly maxEntryShare: number;
  readonly ttlSeconds: number;
}

export interface MemoryTier<V> {
  get(key: string): V | undefined;
  /** The entry without touching its recency (for estimates, not for serving). */
  peek(key: string): V | undefined;
  set(key: string, value: V): void;
  /** Bytes held now. */
  readonly bytes: number;
}

export function createMemoryTier<V extends object>(options: MemoryTierOptions, sizeOf: (value: V) => number): MemoryTier<V> {
  if (options.maxBytes === 0) return { get: () => undefined, peek: () => undefined, set: () => undefined, bytes: 0 };
  const cache = new LRUCache<string, V>({
    maxSize: options.maxBytes,
    maxEntrySize: Math.max(1, Math.floor(options.maxBytes * options.maxEntryShare)),
    // Keys count too: a tier of many tiny variants must not grow past its budget through them.
    sizeCalculation: (value, key) => Math.max(1, sizeOf(value) + key.length),
    ttl: options.ttlSeconds * 1000,
  });
  return {
    get: (key) => cache.get(key),
    peek: (key) => cache.peek(key),
    set: (key, value) => void cache.set(key, value),
    get bytes() {
      return cache.calculatedSize;
    },
  };
}
