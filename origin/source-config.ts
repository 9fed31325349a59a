/**
 * `ORIGIN_SOURCE` and the settings that go with it (S3 endpoint, region, credentials; the HTTP
 * source's private-address switch), checked at start-up into one typed source description.
 */
import path from 'node:path';
import { ConfigError } from './config-error.js';

export type SourceConfig =
  | { readonly kind: 'fs'; readonly root: string }
  | {
      readonly kind: 's3';
      readonly bucket: string;
      /** Key prefix inside the bucket, without leading slash, with trailing slash when set. */
      readonly prefix: string;
      /** Endpoint URL without trailing slash; AWS's regional endpoint when S3_ENDPOINT is unset. */
      readonly endpoint: string;
      readonly region: string;
      readonly forcePathStyle: boolean;
      readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
    }
  | { readonly kind: 'http'; readonly baseUrl: string; readonly allowPrivateAddresses: boolean };

/** The variables the source description is read from, already validated by the config schema. */
export interface SourceEnv {
  readonly ORIGIN_SOURCE: string;
  readonly S3_ENDPOINT?: string | undefined;
  readonly S3_REGION: string;
  readonly S3_FORCE_PATH_STYLE: boolean;
  readonly AWS_ACCESS_KEY_ID?: string | undefined;
  readonly AWS_SECRET_ACCESS_KEY?: string | undefined;
  readonly AWS_SESSION_TOKEN?: string | undefined;
  readonly ORIGIN_HTTP_ALLOW_PRIVATE: boolean;
}

export function parseSourceConfig(e: SourceEnv, cwd: string): SourceConfig {
  const raw = e.ORIGIN_SOURCE;
  if (raw.startsWith('fs:')) {
    const dir = raw.slice('fs:'.length);
    if (dir === '') throw new ConfigError(['ORIGIN_SOURCE: fs: needs a folder, e.g. fs:./samples']);
    return { kind: 'fs', root: path.resolve(cwd, dir) };
  }
  if (raw.startsWith('s3://')) {
    const [bucket = '', ...rest] = raw.slice('s3://'.length).split('/');
    // Bucket naming rules shared by AWS, OSS, MinIO and R2: 3–63 lowercase letters, digits, dots, hyphens.
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new ConfigError([`ORIGIN_SOURCE: "${bucket}" is not a valid bucket name`]);
    }
    const prefix = rest.filter(Boolean).join('/');
    const hasKey = e.AWS_ACCESS_KEY_ID !== undefined;
    if (hasKey !== (e.AWS_SECRET_ACCESS_KEY !== undefined)) {
      throw new ConfigError(['AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: set both or neither (anonymous)']);
    }
    return {
      kind: 's3',
      bucket,
      prefix: prefix === '' ? '' : `${prefix}/`,
      endpoint: (e.S3_ENDPOINT ?? `https://s3.${e.S3_REGION}.amazonaws.com`).replace(/\/+$/, ''),
      region: e.S3_REGION,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
      ...(hasKey && {
        credentials: {
          accessKeyId: e.AWS_ACCESS_KEY_ID!,
          secretAccessKey: e.AWS_SECRET_ACCESS_KEY!,
          ...(e.AWS_SESSION_TOKEN !== undefined && { sessionToken: e.AWS_SESSION_TOKEN }),
        },
      }),
    };
  }
  if (raw.startsWith('http://') || raw.startsWith('https://')) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError([`ORIGIN_SOURCE: "${raw}" is not a valid URL`]);
    }
    if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      throw new ConfigError(['ORIGIN_SOURCE: an http(s) base URL takes no query, fragment or credentials']);
    }
    // The base always ends with "/" so that keys resolve beneath it, never beside it.
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    return { kind: 'http', baseUrl: url.href, allowPrivateAddresses: e.ORIGIN_HTTP_ALLOW_PRIVATE };
  }
  throw new ConfigError(['ORIGIN_SOURCE: expected fs:<dir>, s3://<bucket>[/<prefix>] or http(s)://host/base/']);
}
