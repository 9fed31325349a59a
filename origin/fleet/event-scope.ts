/**
 * Which source key a storage event is about, if any: the event's bucket must be the source's and
 * its key inside the source's prefix (an S3 source), and the rest must be a valid source key.
 * Other sources (a folder, an HTTP base) have no bucket to compare: the event's key is taken as
 * the source key. Events about anything else are ignored (and counted by the caller).
 */
import type { SourceConfig } from '../source-config.js';
import { toSourceKey } from '../sources/parse-key.js';
import type { SourceKey } from '../sources/source.js';
import type { StorageEvent } from './storage-events.js';

export function sourceKeyOf(source: SourceConfig, event: Pick<StorageEvent, 'bucket' | 'key'>): SourceKey | undefined {
  let key = event.key;
  if (source.kind === 's3') {
    if (event.bucket !== source.bucket || !key.startsWith(source.prefix)) return undefined;
    key = key.slice(source.prefix.length);
  }
  try {
    return toSourceKey(key);
  } catch {
    return undefined;
  }
}
