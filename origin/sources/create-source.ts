/** Picks the source implementation named by `ORIGIN_SOURCE`. */
import type { Config } from '../config.js';
import { createFsSource } from './fs-source.js';
import { createHttpSource } from './http-source.js';
import { createS3Source } from './s3-source.js';
import type { ImageSource } from './source.js';

export function createSource(config: Pick<Config, 'source' | 'fetch'>): ImageSource {
  const { source, fetch } = config;
  switch (source.kind) {
    case 'fs':
      return createFsSource(source.root, fetch.maxBytes);
    case 's3':
      return createS3Source(source, fetch);
    case 'http':
      return createHttpSource(source, fetch);
  }
}
