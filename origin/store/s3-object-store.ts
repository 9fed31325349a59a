/**
 * The result store in an S3-compatible bucket (AWS S3, OSS, MinIO, R2): GetObject, PutObject,
 * DeleteObject and ListObjectsV2, signed by the source's own `buildS3Request` (aws4), over one
 * keep-alive undici Agent of its own, so a slow result store never holds the source's connections.
 * undici and aws4 are loaded with the first request (`s3-store-client.ts`), not at start-up.
 */
import { createHash } from 'node:crypto';
import type { Agent, Dispatcher } from 'undici';
import type { buildS3Request, S3Method } from '../sources/s3-request.js';
import type { S3StoreTarget } from './store-config.js';
import { ObjectStoreError, type ObjectStore, type StoredObject } from './object-store.js';

const META = 'x-amz-meta-';

/** Undoes the XML escaping of a `<Key>` text. */
function xmlText(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_m, entity: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (/^#x/i.test(entity)) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)));
    return named[entity.toLowerCase()] ?? '';
  });
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function createS3ObjectStore(target: S3StoreTarget): ObjectStore {
  let client: Promise<{ agent: Agent; sign: typeof buildS3Request }> | undefined;
  const connect = () => (client ??= import('./s3-store-client.js').then((m) => ({ agent: m.storeAgent(), sign: m.buildS3Request })));
  const description = `s3://${target.bucket}/${target.prefix}`;

  async function send(
    method: S3Method,
    name: string,
    signal: AbortSignal,
    extras: { body?: Buffer; headers?: Record<string, string>; query?: Record<string, string> } = {},
  ): Promise<Dispatcher.ResponseData> {
    const { agent, sign } = await connect();
    const payloadSha256 = extras.body && createHash('sha256').update(extras.body).digest('hex');
    const req = sign(target, method, name, {
      now: new Date(),
      ...(payloadSha256 !== undefined && { payloadSha256 }),
      ...(extras.headers && { headers: extras.headers }),
      ...(extras.query && { query: extras.query }),
    });
    return agent.request({ origin: req.origin, path: req.path, method, headers: req.headers, body: extras.body, signal });
  }

  async function fail(res: Dispatcher.ResponseData, what: string): Promise<never> {
    const text = await res.body.text().catch(() => '');
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
    throw new ObjectStoreError(`result store ${what} answered ${res.statusCode}${code ? ` ${code}` : ''}`);
  }

  return {
    description,
    async read(name, signal) {
      const res = await send('GET', name, signal);
      if (res.statusCode === 404) {
        await res.body.dump();
        return undefined;
      }
      if (res.statusCode !== 200) return fail(res, 'GET');
      const bytes = Buffer.from(await res.body.arrayBuffer());
      const meta: Record<string, string> = {};
      for (const [key, value] of Object.entries(res.headers)) {
        if (key.startsWith(META) && typeof value === 'string') meta[key.slice(META.length)] = value;
      }
      return { bytes, contentType: header(res.headers, 'content-type') ?? 'application/octet-stream', meta };
    },
    async write(name, object: StoredObject, signal) {
      const headers: Record<string, string> = { 'content-type': object.contentType, 'content-length': String(object.bytes.byteLength) };
      for (const [key, value] of Object.entries(object.meta)) headers[`${META}${key}`] = value;
      const res = await send('PUT', name, signal, { body: object.bytes, headers });
      if (res.statusCode !== 200) return fail(res, 'PUT');
      await res.body.dump();
    },
    async list(prefix, signal) {
      const names: string[] = [];
      let token: string | undefined;
      do {
        const query: Record<string, string> = { 'list-type': '2', prefix: target.prefix + prefix, ...(token !== undefined && { 'continuation-token': token }) };
        const res = await send('GET', '', signal, { query });
        if (res.statusCode !== 200) return fail(res, 'ListObjectsV2');
        const xml = await res.body.text();
        for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) names.push(xmlText(m[1] ?? '').slice(target.prefix.length));
        const truncated = /<IsTruncated>true<\/IsTruncated>/.test(xml);
        token = truncated ? xmlText(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] ?? '') : undefined;
      } while (token);
      return names;
    },
    async remove(name, signal) {
      const res = await send('DELETE', name, signal);
      if (res.statusCode !== 204 && res.statusCode !== 200 && res.statusCode !== 404) return fail(res, 'DELETE');
      await res.body.dump();
    },
    close: async () => {
      if (client) await (await client).agent.close();
    },
  };
}
