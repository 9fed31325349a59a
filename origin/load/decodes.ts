/**
 * Shared decodes of originals (transforms/decoded-source.ts), for the seconds in which one
 * original is asked for in several variants. The first variant of an original decodes it as
 * usual (a feed of new posts, one variant each, pays nothing extra); from the second variant
 * within `FAN_OUT_WINDOW_MS`, a decode at the size they need is made once, inside the transform
 * slot of the variant that needs it, and the others derive from it. Decodes are bounded by bytes,
 * kept briefly, and bound to the source's version, so a replaced original is decoded afresh.
 */
import { LRUCache } from 'lru-cache';
import type { DecodedSource, DecodeReuse } from '../../transforms/decoded-source.js';
import type { Metrics } from '../metrics.js';
import type { SourceKey } from '../sources/source.js';
import { createSharedWork } from './shared-work.js';

export interface Decodes {
  /** Reuse for one variant of `key` at `version`: counts the variant as one more request of that original. */
  forVariant(key: SourceKey, version: string): DecodeReuse | undefined;
}

/** Variants of one original this close together count as fanned out. */
const FAN_OUT_WINDOW_MS = 10_000;
/** A decode is kept this long after it was made (the burst of a fresh post lasts seconds). */
const DECODE_TTL_MS = 10_000;

export function createDecodes(maxBytes: number, metrics: Metrics): Decodes {
  if (maxBytes === 0) return { forVariant: () => undefined };
  const requested = new LRUCache<string, { count: number }>({ max: 10_000, ttl: FAN_OUT_WINDOW_MS });
  const kept = new LRUCache<string, DecodedSource>({
    maxSize: maxBytes,
    sizeCalculation: (d) => Math.max(1, d.data.byteLength),
    ttl: DECODE_TTL_MS,
  });
  const making = createSharedWork<DecodedSource>(() => metrics.decodes.inc({ result: 'reused' }));

  return {
    forVariant(key, version) {
      const id = `${version}@${key}`;
      const seen = requested.get(id) ?? { count: 0 };
      seen.count++;
      requested.set(id, seen);
      if (seen.count < 2) return undefined;
      return {
        decodeAt(longSide, make) {
          const at = `${id}#${longSide}`;
          const existing = kept.get(at);
          if (existing) {
            metrics.decodes.inc({ result: 'reused' });
            return Promise.resolve(existing);
          }
          // Made for whoever asks first; the callers are the variants' transforms, never aborted midway.
          return making.run(at, undefined, async () => {
            const decoded = await make(longSide);
            metrics.decodes.inc({ result: 'made' });
            kept.set(at, decoded);
            return decoded;
          });
        },
      };
    },
  };
}
