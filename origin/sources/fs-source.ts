/**
 * A folder as the source: the embedded default (`fs:./samples`) and a simple way to serve a mounted
 * volume. Keys resolve strictly inside the folder: after `parseKey` has refused `..` and absolute
 * paths, the real path (symlinks followed) must still lie under the folder's real path, so a
 * symlink pointing outside is treated as missing and never read.
 */
import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError, SourceTooLargeError } from '../errors.js';
import type { ImageSource, SourceKey, SourceObject, SourceStat } from './source.js';

export function createFsSource(root: string, maxBytes: number): ImageSource {
  const realRoot = realpath(root);
  // Unhandled rejection guard: a missing folder surfaces on first use as a clear error instead.
  realRoot.catch(() => undefined);

  async function resolve(key: SourceKey): Promise<string> {
    const rootPath = await realRoot.catch((error: unknown) => {
      throw new Error(`ORIGIN_SOURCE folder ${root} cannot be read`, { cause: error });
    });
    const candidate = path.join(rootPath, ...key.split('/'));
    const real = await realpath(candidate).catch((error: unknown) => {
      throw new NotFoundError(undefined, error);
    });
    if (!real.startsWith(rootPath + path.sep)) throw new NotFoundError('source image not found (outside the folder)');
    return real;
  }

  async function openFile(key: SourceKey) {
    const file = await open(await resolve(key), constants.O_RDONLY | constants.O_NOFOLLOW).catch((error: unknown) => {
      throw new NotFoundError(undefined, error);
    });
    const stats = await file.stat();
    if (!stats.isFile()) {
      await file.close();
      throw new NotFoundError('source image not found (not a file)');
    }
    const stat: SourceStat = {
      version: `${Math.trunc(stats.mtimeMs).toString(36)}-${stats.size.toString(36)}`,
      lastModified: stats.mtime,
    };
    return { file, size: stats.size, stat };
  }

  return {
    description: `fs:${root}`,
    async stat(key) {
      const { file, stat } = await openFile(key);
      await file.close();
      return stat;
    },
    async fetch(key): Promise<SourceObject> {
      const { file, size, stat } = await openFile(key);
      try {
        if (size > maxBytes) throw new SourceTooLargeError(maxBytes);
        return { ...stat, bytes: await file.readFile() };
      } finally {
        await file.close();
      }
    },
    async close() {},
  };
}
