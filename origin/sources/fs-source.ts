/**
 * A folder as the source: the embedded default (`fs:./samples`) and a simple way to serve a mounted
 * volume. Keys resolve strictly inside the folder: after `parseKey` has refused `..` and absolute
 * paths, the real path (symlinks followed) must still lie under the folder's real path, so a
 * symlink pointing outside is treated as missing and never read.
 *
 * Only regular files are sources. A named pipe, socket or device in the folder would otherwise
 * block: `open()` of a FIFO waits for a writer inside one of libuv's few threads (which sharp and
 * DNS share), so a handful of requests for one would stall every other file read and transform.
 * So the path is `lstat`ed first (nothing is opened for a stat or for anything but a regular
 * file), the open is non-blocking and never follows a link, and the descriptor is checked again
 * with `fstat` (the entry may have been swapped meanwhile). Reads are bounded: at most the size
 * `fstat` saw, in chunks, so no thread is held by one long read and a growing file cannot
 * outgrow the size limit. A path that does not lead to a readable file is 404; the file system
 * failing (EIO, EMFILE, …) is a 502, not a "missing" that would hide the fault.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError, SourceTooLargeError, SourceUnavailableError } from '../errors.js';
import type { ImageSource, SourceKey, SourceObject, SourceStat } from './source.js';

/** O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** Largest single read, so one thread-pool task never copies a whole large original at once. */
const READ_CHUNK = 1024 * 1024;

/** Errors that mean "no readable file there"; anything else (EMFILE, EIO, …) is a storage fault. */
const MISSING_CODES = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EACCES', 'EPERM', 'ENAMETOOLONG', 'EISDIR', 'ENXIO']);

/** A `.catch` handler turning a file-system error of `what` into the origin's 404 or 502. */
function fsError(what: string): (error: unknown) => never {
  return (error) => {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code !== undefined && MISSING_CODES.has(code)) throw new NotFoundError(undefined, error);
    throw new SourceUnavailableError(`${what} cannot be read (${code ?? 'unknown error'})`, { cause: error });
  };
}

function statOf(stats: Stats): SourceStat {
  return { version: `${Math.trunc(stats.mtimeMs).toString(36)}-${stats.size.toString(36)}`, lastModified: stats.mtime };
}

/** The entry's stats when it is a regular file; anything else is missing (404). */
async function regularFile(real: string, what: string): Promise<Stats> {
  const stats = await lstat(real).catch(fsError(what));
  if (!stats.isFile()) throw new NotFoundError('source image not found (not a regular file)');
  return stats;
}

/** Reads at most `size` bytes from the start, chunk by chunk, stopping early when `signal` aborts. */
async function readUpTo(file: FileHandle, size: number, signal: AbortSignal | undefined, what: string): Promise<Buffer> {
  const bytes = Buffer.allocUnsafeSlow(size);
  let filled = 0;
  while (filled < size) {
    signal?.throwIfAborted();
    const { bytesRead } = await file.read(bytes, filled, Math.min(READ_CHUNK, size - filled), filled).catch(fsError(what));
    if (bytesRead === 0) break; // the file shrank meanwhile
    filled += bytesRead;
  }
  return bytes.subarray(0, filled);
}

export function createFsSource(root: string, maxBytes: number): ImageSource {
  const description = `fs:${root}`;
  const realRoot = realpath(root);
  // Unhandled rejection guard: a missing folder surfaces on first use as a clear error instead.
  realRoot.catch(() => undefined);

  async function resolve(key: SourceKey): Promise<string> {
    const rootPath = await realRoot.catch((error: unknown) => {
      throw new Error(`ORIGIN_SOURCE folder ${root} cannot be read`, { cause: error });
    });
    const candidate = path.join(rootPath, ...key.split('/'));
    const real = await realpath(candidate).catch(fsError(description));
    if (!real.startsWith(rootPath + path.sep)) throw new NotFoundError('source image not found (outside the folder)');
    return real;
  }

  return {
    description,
    async stat(key) {
      return statOf(await regularFile(await resolve(key), description));
    },
    async fetch(key, signal): Promise<SourceObject> {
      const real = await resolve(key);
      const seen = await regularFile(real, description);
      if (seen.size > maxBytes) throw new SourceTooLargeError(maxBytes);
      const file = await open(real, OPEN_FLAGS).catch(fsError(description));
      try {
        const stats = await file.stat().catch(fsError(description));
        // Swapped for something else between lstat and open: treat it as missing, never read it.
        if (!stats.isFile() || stats.ino !== seen.ino || stats.dev !== seen.dev) {
          throw new NotFoundError('source image not found (replaced while opening)');
        }
        if (stats.size > maxBytes) throw new SourceTooLargeError(maxBytes);
        return { ...statOf(stats), bytes: await readUpTo(file, stats.size, signal, description) };
      } finally {
        await file.close();
      }
    },
    async close() {},
  };
}
