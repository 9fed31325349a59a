/**
 * The CDN purge hook (`ORIGIN_PURGE_WEBHOOK`): after a purge or block, the URL is called so the
 * CDN drops its copies too. A template with `{key}` is called once per key (the key URL-encoded
 * with its slashes kept, e.g. `https://hooks.example/purge/{key}`); without it, one POST carries
 * `{"action": "purge"|"block", "keys": [...]}`. Calls run in the background with a timeout;
 * failures are logged, never fail the admin request (the takedown itself already happened).
 */
import { encodeS3Key } from '../sources/s3-key.js';

const TIMEOUT_MS = 10_000;

export function createPurgeHook(template: string, warn: (fields: Record<string, unknown>, message: string) => void) {
  async function call(url: string, body: string): Promise<void> {
    try {
      // Node's own fetch: loaded with the first call, so a process that never purges never loads it.
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
      await res.body?.cancel();
      if (res.status >= 300) warn({ url, status: res.status }, 'purge webhook answered an error');
    } catch (error) {
      // fetch says only "fetch failed"; the reason (refused, timed out, DNS) is its cause.
      const reason = error instanceof Error ? (error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message) : String(error);
      warn({ url, error: reason }, 'purge webhook failed');
    }
  }
  return (action: 'purge' | 'block', keys: readonly string[]): void => {
    if (template.includes('{key}')) {
      for (const key of keys) void call(template.replaceAll('{key}', encodeS3Key(key)), JSON.stringify({ action, keys: [key] }));
    } else void call(template, JSON.stringify({ action, keys }));
  };
}
