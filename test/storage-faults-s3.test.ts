/**
 * Storage faults through the whole origin with an s3:// source whose endpoint is a loopback
 * server answering S3's way (XML error documents, HEADs without bodies); see
 * test/helpers/fault-suite.ts for what each case checks. Also: the metadata path (HEAD, for
 * conditional requests) names a redirect to another region a configuration error, as GET does.
 */
import { test } from 'node:test';
import { assertCleanError, defineFaultSuite } from './helpers/fault-suite.js';
import { rawGet } from './helpers/origin.js';

defineFaultSuite('s3', ({ origin, storage }) => {
  test('301 PermanentRedirect is SOURCE_CONFIGURATION on the conditional (HEAD) path too, as on GET', async () => {
    for (const [key, headers] of [
      ['faults/redirect-get.png', {}],
      ['faults/redirect-head.png', { 'if-none-match': '"held-by-the-cdn"' }],
    ] as const) {
      storage().set(key, { kind: 'status', status: 301, code: 'PermanentRedirect' });
      const r = await rawGet(origin().url, `/${key}?w=70&fm=png`, headers);
      assertCleanError(r, 502, 'SOURCE_CONFIGURATION', key);
    }
  });
});
