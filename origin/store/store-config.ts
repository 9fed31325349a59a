/**
 * `ORIGIN_RESULT_STORE` and its settings: where finished variants are kept for the whole fleet
 * (an S3-compatible bucket, or a folder on one machine), with the S3 settings taken from the
 * source's unless the `RESULT_*` variables override them. Its variables are part of the one
 * environment schema (`config.ts`), validated at start-up.
 */
import path from 'node:path';
import * as z from 'zod';
import { ConfigError } from '../config-error.js';
import { bool, int } from '../env-values.js';
import type { SourceConfig } from '../source-config.js';

export type S3StoreTarget = Pick<Extract<SourceConfig, { kind: 's3' }>, 'bucket' | 'prefix' | 'endpoint' | 'region' | 'forcePathStyle' | 'credentials'>;

export type ResultStoreConfig = {
  /** Longest a read may take before the request makes the variant itself, in ms. */
  readonly readTimeoutMs: number;
  /** Longest one write (or delete, or list) may take, in ms. */
  readonly writeTimeoutMs: number;
  /** Writes waiting; one more is dropped and counted. */
  readonly writeQueue: number;
} & ({ readonly kind: 's3'; readonly target: S3StoreTarget } | { readonly kind: 'fs'; readonly root: string });

/** The variables read here; spread into the one environment schema of `config.ts`. */
export const STORE_ENV = {
  ORIGIN_RESULT_STORE: z.string().min(1).optional(),
  RESULT_S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  RESULT_S3_REGION: z.string().regex(/^[a-z0-9-]+$/).optional(),
  RESULT_S3_FORCE_PATH_STYLE: bool.optional(),
  RESULT_AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  RESULT_AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  // Short: a store slower than this costs every miss the wait; a transform is rarely much slower.
  ORIGIN_RESULT_STORE_TIMEOUT_MS: int(1, 60_000).default(300),
  ORIGIN_RESULT_STORE_WRITE_TIMEOUT_MS: int(1, 600_000).default(5_000),
  ORIGIN_RESULT_STORE_QUEUE: int(1, 100_000).default(256),
};

type StoreEnv = Readonly<z.output<z.ZodObject<typeof STORE_ENV>>>;

export function parseStoreConfig(e: StoreEnv, source: SourceConfig, sourceEnv: { S3_ENDPOINT?: string | undefined; S3_REGION: string; S3_FORCE_PATH_STYLE: boolean }, cwd: string): ResultStoreConfig | undefined {
  const raw = e.ORIGIN_RESULT_STORE;
  if (raw === undefined) return undefined;
  const common = { readTimeoutMs: e.ORIGIN_RESULT_STORE_TIMEOUT_MS, writeTimeoutMs: e.ORIGIN_RESULT_STORE_WRITE_TIMEOUT_MS, writeQueue: e.ORIGIN_RESULT_STORE_QUEUE };
  if (raw.startsWith('fs:')) {
    const dir = raw.slice('fs:'.length);
    if (dir === '') throw new ConfigError(['ORIGIN_RESULT_STORE: fs: needs a folder, e.g. fs:/var/cache/image-origin']);
    return { ...common, kind: 'fs', root: path.resolve(cwd, dir) };
  }
  if (!raw.startsWith('s3://')) throw new ConfigError(['ORIGIN_RESULT_STORE: expected s3://<bucket>[/<prefix>] or fs:<dir>']);
  const [bucket = '', ...rest] = raw.slice('s3://'.length).split('/');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigError([`ORIGIN_RESULT_STORE: "${bucket}" is not a valid bucket name`]);
  const prefix = rest.filter(Boolean).join('/');
  const ownKey = e.RESULT_AWS_ACCESS_KEY_ID !== undefined;
  if (ownKey !== (e.RESULT_AWS_SECRET_ACCESS_KEY !== undefined)) {
    throw new ConfigError(['RESULT_AWS_ACCESS_KEY_ID / RESULT_AWS_SECRET_ACCESS_KEY: set both or neither (the source\'s credentials)']);
  }
  const fromSource = source.kind === 's3' ? source : undefined;
  const region = e.RESULT_S3_REGION ?? sourceEnv.S3_REGION;
  const credentials = ownKey ? { accessKeyId: e.RESULT_AWS_ACCESS_KEY_ID!, secretAccessKey: e.RESULT_AWS_SECRET_ACCESS_KEY! } : fromSource?.credentials;
  return {
    ...common,
    kind: 's3',
    target: {
      bucket,
      prefix: prefix === '' ? '' : `${prefix}/`,
      endpoint: (e.RESULT_S3_ENDPOINT ?? sourceEnv.S3_ENDPOINT ?? `https://s3.${region}.amazonaws.com`).replace(/\/+$/, ''),
      region,
      forcePathStyle: e.RESULT_S3_FORCE_PATH_STYLE ?? sourceEnv.S3_FORCE_PATH_STYLE,
      ...(credentials && { credentials }),
    },
  };
}
