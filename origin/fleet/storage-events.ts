/**
 * Storage event notifications, as the providers send them, read into one plain shape: an object
 * created or removed in a bucket. Pure; nothing here knows the source or does any work.
 *
 * - S3 event messages (`Records[]`, `eventName` `ObjectCreated:*` / `ObjectRemoved:*`, the key
 *   URL-encoded form-style: `+` for a space), delivered directly, inside an SNS envelope
 *   (`Type: Notification`, the message as a JSON string), or by MinIO's webhook (the same records,
 *   `s3:`-prefixed event names).
 * - EventBridge (`detail-type` `Object Created` / `Object Deleted`, `detail.object.key` plain).
 * - Alibaba Cloud OSS (`events[]`, `eventName` `ObjectCreated:PutObject`…, `oss.object.key` plain):
 *   a Function Compute OSS trigger's body, inside an MNS HTTP push (JSON or XML, the message
 *   Base64-encoded or not), or as EventBridge CloudEvents (`source: acs.oss`, the record as `data`).
 */

export interface StorageEvent {
  readonly action: 'created' | 'removed';
  readonly bucket: string;
  /** The object key as stored (decoded). */
  readonly key: string;
  /** The object's ETag when the event carries one (idempotency). */
  readonly etag?: string;
  /** Which format it came in, for logs: `s3`, `sns`, `minio`, `eventbridge`, `oss`, `mns`, `oss-eventbridge`. */
  readonly format: string;
}

/** What `parseStorageEvents` returns besides the events: records it did not act on (other event types). */
export interface ParsedEvents {
  readonly events: StorageEvent[];
  /** Records of kinds that are neither a creation nor a removal (ObjectRestore, tagging…). */
  readonly skipped: number;
  /** An SNS subscription to confirm (its SubscribeURL), answered 200 and logged for the operator. */
  readonly subscribeUrl?: string;
}

export class EventFormatError extends Error {}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const at = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), v);

/** `ObjectCreated:Put`, `s3:ObjectRemoved:Delete`, `oss:ObjectCreated:PutObject` → the action. */
function actionOf(eventName: string): StorageEvent['action'] | undefined {
  const name = eventName.replace(/^(s3|oss):/, '');
  if (name.startsWith('ObjectCreated:')) return 'created';
  if (name.startsWith('ObjectRemoved:')) return 'removed';
  return undefined;
}

/** S3 writes keys as `application/x-www-form-urlencoded`: `+` is a space, `%2B` a plus. */
function decodeS3Key(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new EventFormatError(`malformed URL-encoded key "${raw}"`);
  }
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '') || undefined;
}

/** Where S3 records and OSS events keep their fields (the same shape under another root), and how each spells keys. */
const RECORD_DIALECTS = {
  s3: { what: 'an S3 record', decodeKey: decodeS3Key },
  oss: { what: 'an OSS event', decodeKey: (key: string) => key },
} as const;

function fromRecords(records: unknown[], format: string, root: keyof typeof RECORD_DIALECTS): ParsedEvents {
  const { what, decodeKey } = RECORD_DIALECTS[root];
  const events: StorageEvent[] = [];
  let skipped = 0;
  for (const record of records) {
    const action = actionOf(text(at(record, 'eventName')) ?? '');
    const bucket = text(at(record, root, 'bucket', 'name'));
    const key = text(at(record, root, 'object', 'key'));
    if (!action) {
      skipped++;
      continue;
    }
    if (bucket === undefined || key === undefined) throw new EventFormatError(`${what} without ${root}.bucket.name or ${root}.object.key`);
    const etag = unquote(text(at(record, root, 'object', 'eTag')));
    events.push({ action, bucket, key: decodeKey(key), format, ...(etag && { etag }) });
  }
  return { events, skipped };
}

/** An EventBridge event from S3 (`source: aws.s3`). */
function fromEventBridge(event: Json): ParsedEvents {
  const type = text(event['detail-type']);
  const action = type === 'Object Created' ? 'created' : type === 'Object Deleted' ? 'removed' : undefined;
  if (!action) return { events: [], skipped: 1 };
  const bucket = text(at(event, 'detail', 'bucket', 'name'));
  const key = text(at(event, 'detail', 'object', 'key'));
  if (bucket === undefined || key === undefined) throw new EventFormatError('an EventBridge event without detail.bucket.name or detail.object.key');
  const etag = unquote(text(at(event, 'detail', 'object', 'etag')));
  return { events: [{ action, bucket, key, format: 'eventbridge', ...(etag && { etag }) }], skipped: 0 };
}

/** MNS pushes the OSS message Base64-encoded (or as is): either way it is JSON once read. */
function decodeMnsMessage(message: string): unknown {
  const trimmed = message.trim();
  if (trimmed.startsWith('{')) return JSON.parse(trimmed);
  const decoded = Buffer.from(trimmed, 'base64').toString('utf8');
  try {
    return JSON.parse(decoded);
  } catch {
    throw new EventFormatError('an MNS message that is neither JSON nor Base64-encoded JSON');
  }
}

function fromJson(body: unknown, depth = 0): ParsedEvents {
  if (depth > 2) throw new EventFormatError('events nested too deeply');
  // A batch of CloudEvents (EventBridge delivering to Function Compute in batches).
  if (Array.isArray(body)) {
    const parts = body.map((item) => fromJson(item, depth + 1));
    return { events: parts.flatMap((p) => p.events), skipped: parts.reduce((n, p) => n + p.skipped, 0) };
  }
  if (!isObject(body)) throw new EventFormatError('expected a JSON object');
  if (Array.isArray(body['Records'])) {
    const minio = text(body['EventName']) !== undefined || text(at(body['Records'][0], 'eventSource')) === 'minio:s3';
    return fromRecords(body['Records'], minio ? 'minio' : 's3', 's3');
  }
  if (Array.isArray(body['events'])) return fromRecords(body['events'], 'oss', 'oss');
  if (body['source'] === 'aws.s3' && isObject(body['detail'])) return fromEventBridge(body);
  if (body['source'] === 'acs.oss' && isObject(body['data'])) return fromRecords([body['data']], 'oss-eventbridge', 'oss');
  if (body['Type'] === 'SubscriptionConfirmation') {
    const url = text(body['SubscribeURL']);
    return { events: [], skipped: 0, ...(url && { subscribeUrl: url }) };
  }
  if (body['Type'] === 'Notification' && typeof body['Message'] === 'string') {
    const inner = fromJson(JSON.parse(body['Message']), depth + 1);
    return { ...inner, events: inner.events.map((e) => ({ ...e, format: 'sns' })) };
  }
  // An MNS HTTP push in JSON: the OSS message in `Message`.
  if (typeof body['Message'] === 'string' && typeof body['TopicName'] === 'string') {
    const inner = fromJson(decodeMnsMessage(body['Message']), depth + 1);
    return { ...inner, events: inner.events.map((e) => ({ ...e, format: 'mns' })) };
  }
  throw new EventFormatError('not a storage event this origin knows (S3, SNS, EventBridge, MinIO, OSS, MNS)');
}

/** Undoes XML escaping of a text node. */
function xmlText(value: string): string {
  return value.replace(/&(lt|gt|quot|apos|amp);/g, (_m, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e] ?? '');
}

/** The body of a POST /events, as text: JSON of any known shape, or an MNS push in XML. */
export function parseStorageEvents(body: string): ParsedEvents {
  const trimmed = body.trim();
  if (trimmed.startsWith('<')) {
    const message = /<Message>([\s\S]*?)<\/Message>/.exec(trimmed)?.[1];
    if (message === undefined) throw new EventFormatError('an XML body without <Message> (expected an MNS push)');
    const inner = fromJson(decodeMnsMessage(xmlText(message)));
    return { ...inner, events: inner.events.map((e) => ({ ...e, format: 'mns' })) };
  }
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    // MNS's SIMPLIFIED format pushes the message alone: Base64 of the OSS JSON.
    if (/^[A-Za-z0-9+/=\s]+$/.test(trimmed) && trimmed.length > 0) return relabel(fromJson(decodeMnsMessage(trimmed)), 'mns');
    throw new EventFormatError('the body is neither JSON nor XML');
  }
  return fromJson(json);
}

function relabel(parsed: ParsedEvents, format: string): ParsedEvents {
  return { ...parsed, events: parsed.events.map((e) => ({ ...e, format })) };
}
