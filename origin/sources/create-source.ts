/**
 * Picks the source implementation named by `ORIGIN_SOURCE`, loading only its module: undici (and
 * aws4) cost a folder source's start-up about 45 ms they would never pay back. With the lazy
 * schema compilers (http/lazy-schema-compilers.ts) this took the start-up CPU to the first image
 * from 880 to 610 ms (median of 5, on the 2-core VM under other load; README "Start-up").
 */
import type { Config } from '../config.js';
import type { ImageSource } from './source.js';

export async function createSource(config: Pick<Config, 'source' | 'fetch'>): Promise<ImageSource> {
  const { source, fetch } = config;
  switch (source.kind) {
    case 'fs':
      return (await import('./fs-source.js')).createFsSource(source.root, fetch.maxBytes);
    case 's3':
      return (await import('./s3-source.js')).createS3Source(source, fetch);
    case 'http':
      return (await import('./http-source.js')).createHttpSource(source, fetch);
  }
}
