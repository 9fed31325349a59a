/**
 * Storage event notifications as the providers document them (fixtures in test/fixtures/events,
 * see SOURCES.md), each read into created/removed + bucket + key, including keys with spaces,
 * `+` and non-ASCII in each provider's own encoding.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { sourceKeyOf } from '../origin/fleet/event-scope.js';
import { EventFormatError, parseStorageEvents } from '../origin/fleet/storage-events.js';
import { PROJECT_ROOT } from '../support/paths.js';

const fixture = (name: string) => readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'events', name), 'utf8');
const json = (name: string) => JSON.parse(fixture(name)) as Record<string, unknown>;
/** The key users upload that every encoding has to survive. */
const AWKWARD = 'photos/My Photo + été 写真.jpg';

describe('each provider\'s documented sample', () => {
  const cases: [string, { action: string; bucket: string; key: string; etag?: string; format: string }][] = [
    ['s3-put.json', { action: 'created', bucket: 'example-bucket', key: 'test/key', etag: '0123456789abcdef0123456789abcdef', format: 's3' }],
    ['s3-sns-notification.json', { action: 'created', bucket: 'example-bucket', key: 'test/key', etag: '0123456789abcdef0123456789abcdef', format: 'sns' }],
    ['eventbridge-object-created.json', { action: 'created', bucket: 'amzn-s3-demo-bucket1', key: 'example-key', etag: 'b1946ac92492d2347c6235b4d2611184', format: 'eventbridge' }],
    ['eventbridge-object-deleted.json', { action: 'removed', bucket: 'amzn-s3-demo-bucket1', key: 'example-key', format: 'eventbridge' }],
    ['minio-webhook-put.json', { action: 'created', bucket: 'play1', key: 'j1.txt', etag: 'f22d66a7d0dbbc4a7cf1122eeeb1a106', format: 'minio' }],
    ['oss-fc-trigger-put.json', { action: 'created', bucket: 'fc-with-oss-trigger', key: 'source/serverless.png', etag: '688A7BF4F233DC9C88A80BF985AB7329', format: 'oss' }],
    ['oss-mns-push.xml', { action: 'created', bucket: 'fc-with-oss-trigger', key: 'source/serverless.png', etag: '688A7BF4F233DC9C88A80BF985AB7329', format: 'mns' }],
    ['oss-mns-push.json', { action: 'created', bucket: 'fc-with-oss-trigger', key: 'source/serverless.png', etag: '688A7BF4F233DC9C88A80BF985AB7329', format: 'mns' }],
    ['oss-eventbridge-put.json', { action: 'created', bucket: 'test-bucket', key: 'test.txt', etag: '59CA0B24A7ACC1CAF9C1AC0FC4D9ABE4', format: 'oss-eventbridge' }],
  ];
  for (const [name, expected] of cases) {
    test(name, () => {
      const parsed = parseStorageEvents(fixture(name));
      assert.deepEqual(parsed.events, [expected]);
    });
  }

  test('an SNS subscription confirmation yields its SubscribeURL and no event', () => {
    const parsed = parseStorageEvents(fixture('s3-sns-subscription-confirmation.json'));
    assert.deepEqual(parsed.events, []);
    assert.match(parsed.subscribeUrl ?? '', /^https:\/\/sns\.us-west-2\.amazonaws\.com\/\?Action=ConfirmSubscription/);
  });
});

describe('keys with spaces, + and non-ASCII', () => {
  test('S3 and MinIO records: form-style URL encoding (+ is a space, %2B a plus)', () => {
    for (const name of ['s3-put.json', 'minio-webhook-put.json']) {
      const body = json(name) as { Records: { s3: { object: { key: string } } }[] };
      body.Records[0]!.s3.object.key = 'photos/My+Photo+%2B+%C3%A9t%C3%A9+%E5%86%99%E7%9C%9F.jpg';
      assert.equal(parseStorageEvents(JSON.stringify(body)).events[0]?.key, AWKWARD, name);
    }
  });

  test('SNS: the record inside the message string decodes the same way', () => {
    const record = json('s3-put.json') as { Records: { s3: { object: { key: string } } }[] };
    record.Records[0]!.s3.object.key = 'photos/My+Photo+%2B+%C3%A9t%C3%A9+%E5%86%99%E7%9C%9F.jpg';
    const envelope = { ...json('s3-sns-notification.json'), Message: JSON.stringify(record) };
    assert.equal(parseStorageEvents(JSON.stringify(envelope)).events[0]?.key, AWKWARD);
  });

  test('EventBridge, OSS, MNS and OSS EventBridge carry the key as is', () => {
    const eb = json('eventbridge-object-created.json') as { detail: { object: { key: string } } };
    eb.detail.object.key = AWKWARD;
    assert.equal(parseStorageEvents(JSON.stringify(eb)).events[0]?.key, AWKWARD);
    const oss = json('oss-fc-trigger-put.json') as { events: { oss: { object: { key: string } } }[] };
    oss.events[0]!.oss.object.key = AWKWARD;
    assert.equal(parseStorageEvents(JSON.stringify(oss)).events[0]?.key, AWKWARD);
    const mns = { ...json('oss-mns-push.json'), Message: Buffer.from(JSON.stringify(oss)).toString('base64') };
    assert.equal(parseStorageEvents(JSON.stringify(mns)).events[0]?.key, AWKWARD);
    const xml = fixture('oss-mns-push.xml').replace(/<Message>[^<]*<\/Message>/, `<Message>${mns.Message}</Message>`);
    assert.equal(parseStorageEvents(xml).events[0]?.key, AWKWARD);
    const ce = json('oss-eventbridge-put.json') as { data: { oss: { object: { key: string } } } };
    ce.data.oss.object.key = AWKWARD;
    assert.equal(parseStorageEvents(JSON.stringify(ce)).events[0]?.key, AWKWARD);
  });
});

describe('what is not acted on', () => {
  test('other event types are skipped, unknown bodies are refused', () => {
    const body = json('s3-put.json') as { Records: { eventName: string }[] };
    body.Records[0]!.eventName = 'ObjectRestore:Completed';
    assert.deepEqual(parseStorageEvents(JSON.stringify(body)), { events: [], skipped: 1 });
    assert.throws(() => parseStorageEvents('{"hello": "world"}'), EventFormatError);
    assert.throws(() => parseStorageEvents('not json'), EventFormatError);
    const bad = json('s3-put.json') as { Records: { s3: { object: { key: string } } }[] };
    bad.Records[0]!.s3.object.key = '%E0%A4%A';
    assert.throws(() => parseStorageEvents(JSON.stringify(bad)), EventFormatError);
  });

  test('keys outside the source (another bucket, outside the prefix, invalid) have no source key', () => {
    const s3 = { kind: 's3', bucket: 'images', prefix: 'originals/', endpoint: 'http://x', region: 'us-east-1', forcePathStyle: true } as const;
    assert.equal(sourceKeyOf(s3, { bucket: 'images', key: 'originals/a/b.jpg' }), 'a/b.jpg');
    assert.equal(sourceKeyOf(s3, { bucket: 'other', key: 'originals/a/b.jpg' }), undefined);
    assert.equal(sourceKeyOf(s3, { bucket: 'images', key: 'thumbs/a.jpg' }), undefined);
    assert.equal(sourceKeyOf(s3, { bucket: 'images', key: 'originals/../etc/passwd' }), undefined);
    assert.equal(sourceKeyOf({ kind: 'fs', root: '/srv' }, { bucket: 'anything', key: 'a.jpg' }), 'a.jpg');
  });
});
