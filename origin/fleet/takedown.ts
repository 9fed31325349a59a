/**
 * Taking images down: a purge removes every variant of some keys from this replica's tiers and
 * from the result store; a block purges them and puts them on the block list, which lives in the
 * result store and which every replica re-reads every few seconds, refusing listed keys (451, or
 * the fallback image) and dropping them from its own tiers when it first sees them. Without a
 * result store a block holds on this replica only.
 */
import type { Originals } from '../load/originals.js';
import type { Variants } from '../load/variants.js';
import type { Metrics } from '../metrics.js';
import type { SourceKey } from '../sources/source.js';
import type { ObjectStore } from '../store/object-store.js';
import type { ResultTier } from '../store/result-tier.js';
import type { ThrottledLog } from '../store/throttled-log.js';

export interface Purged {
  readonly key: string;
  /** Variants dropped from this replica's memory tier. */
  readonly memory: number;
  /** Whether this replica's originals tier held the original. */
  readonly original: boolean;
  /** Results removed from the result store. */
  readonly stored: number;
}

export interface BlockEntry {
  readonly reason: string;
  readonly blockedAt: string;
}

export interface Takedown {
  purge(keys: readonly SourceKey[], signal?: AbortSignal): Promise<Purged[]>;
  /** Purges and lists the keys; `fleetWide` is false when there is no result store to share the list. */
  block(keys: readonly SourceKey[], reason: string): Promise<{ purged: Purged[]; fleetWide: boolean }>;
  unblock(keys: readonly SourceKey[]): Promise<{ fleetWide: boolean }>;
  /** Drops local copies only (a created or replaced object seen in an event). */
  forgetLocally(key: SourceKey): void;
  isBlocked(key: SourceKey): boolean;
  /** Reads the shared list now: newly listed keys are dropped from this replica's tiers. */
  refresh(): Promise<void>;
  /** Starts re-reading the list every interval; `stop` ends it. */
  start(): void;
  stop(): void;
}

export interface TakedownDeps {
  readonly variants: Variants;
  readonly originals: Originals;
  readonly results?: ResultTier | undefined;
  /** Where the block list lives (the result store's objects); undefined: this replica only. */
  readonly store?: ObjectStore | undefined;
  readonly listName: string;
  readonly refreshMs: number;
  readonly timeoutMs: number;
  readonly metrics: Metrics;
  readonly log: ThrottledLog;
  /** Called after a purge or block with the keys (the CDN purge hook). */
  readonly onPurged?: (action: 'purge' | 'block', keys: readonly string[]) => void;
}

type BlockList = Record<string, BlockEntry>;

/** Read-modify-write of the shared list is retried when another replica wrote meanwhile. */
const WRITE_ATTEMPTS = 3;

export function createTakedown(deps: TakedownDeps): Takedown {
  const { variants, originals, results, store, metrics, log } = deps;
  let blocked: BlockList = {};
  let timer: NodeJS.Timeout | undefined;

  function purgeLocally(key: SourceKey): { memory: number; original: boolean } {
    return { memory: variants.forget(key), original: originals.forget(key) };
  }

  async function readList(): Promise<BlockList> {
    if (!store) return blocked;
    const found = await store.read(deps.listName, AbortSignal.timeout(deps.timeoutMs));
    if (!found) return {};
    const parsed = JSON.parse(found.bytes.toString('utf8')) as { keys?: unknown };
    const keys = parsed.keys;
    return typeof keys === 'object' && keys !== null && !Array.isArray(keys) ? (keys as BlockList) : {};
  }

  /** Applies a newly read list: keys it did not list before are dropped from the tiers. */
  function adopt(list: BlockList): void {
    for (const key of Object.keys(list)) {
      if (!Object.hasOwn(blocked, key)) metrics.purged.inc(purgeLocally(key as SourceKey).memory);
    }
    blocked = list;
  }

  async function change(update: (list: BlockList) => BlockList): Promise<boolean> {
    if (!store) {
      adopt(update({ ...blocked }));
      return false;
    }
    for (let attempt = 1; ; attempt++) {
      const next = update({ ...(await readList()) });
      const bytes = Buffer.from(JSON.stringify({ keys: next }, null, 2));
      await store.write(deps.listName, { bytes, contentType: 'application/json', meta: {} }, AbortSignal.timeout(deps.timeoutMs));
      // Another replica may have written between our read and write: check ours survived.
      const after = await readList();
      const wanted = Object.keys(next);
      if (wanted.every((k) => Object.hasOwn(after, k)) && Object.keys(after).every((k) => Object.hasOwn(next, k))) {
        adopt(after);
        return true;
      }
      if (attempt >= WRITE_ATTEMPTS) {
        adopt(after);
        throw new Error('the block list changed under this write three times; try again');
      }
    }
  }

  async function purge(keys: readonly SourceKey[], signal?: AbortSignal): Promise<Purged[]> {
    const report: Purged[] = [];
    for (const key of keys) {
      const local = purgeLocally(key);
      const stored = results ? await results.purge(key, signal) : 0;
      metrics.purged.inc(local.memory + stored);
      report.push({ key, ...local, stored });
    }
    return report;
  }

  async function refresh(): Promise<void> {
    try {
      adopt(await readList());
      metrics.resultStoreRequests.inc({ op: 'blocklist', result: 'ok' });
    } catch (error) {
      // The last list read stays in force: a store outage never unblocks anything.
      metrics.resultStoreRequests.inc({ op: 'blocklist', result: 'error' });
      log.report('blocklist', error);
    }
  }

  return {
    purge: async (keys, signal) => {
      const report = await purge(keys, signal);
      deps.onPurged?.('purge', keys);
      return report;
    },
    async block(keys, reason) {
      const blockedAt = new Date().toISOString();
      // Listed first, so no replica makes the image again while its copies are being removed.
      const fleetWide = await change((list) => Object.assign(list, Object.fromEntries(keys.map((k) => [k, { reason, blockedAt }]))));
      const purged = await purge(keys);
      deps.onPurged?.('block', keys);
      return { purged, fleetWide };
    },
    async unblock(keys) {
      const fleetWide = await change((list) => {
        for (const key of keys) delete list[key];
        return list;
      });
      return { fleetWide };
    },
    forgetLocally: (key) => void purgeLocally(key),
    isBlocked(key) {
      const hit = Object.hasOwn(blocked, key);
      if (hit) metrics.blockedRequests.inc();
      return hit;
    },
    refresh,
    start() {
      if (!store || timer) return;
      void refresh();
      timer = setInterval(() => void refresh(), deps.refreshMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
