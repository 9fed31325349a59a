/**
 * The result store in a folder, for one machine (or a shared volume): each object is its bytes
 * plus a `.meta.json` sidecar with its type and metadata, both written to a temporary name and
 * renamed, so a reader never sees half an object.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStore, StoredObject } from './object-store.js';

const SIDECAR = '.meta.json';

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export function createFsObjectStore(root: string): ObjectStore {
  const at = (name: string) => path.join(root, ...name.split('/'));

  async function writeAtomically(file: string, bytes: Buffer | string): Promise<void> {
    const temporary = `${file}.${randomUUID()}.tmp`;
    await writeFile(temporary, bytes);
    await rename(temporary, file);
  }

  return {
    description: `fs:${root}`,
    async read(name) {
      try {
        const [bytes, sidecar] = await Promise.all([readFile(at(name)), readFile(at(name) + SIDECAR, 'utf8')]);
        const { contentType, meta } = JSON.parse(sidecar) as { contentType: string; meta: Record<string, string> };
        return { bytes, contentType, meta };
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    async write(name, object: StoredObject) {
      const file = at(name);
      await mkdir(path.dirname(file), { recursive: true });
      // Sidecar first: an object is visible only once its bytes are renamed into place.
      await writeAtomically(file + SIDECAR, JSON.stringify({ contentType: object.contentType, meta: object.meta }));
      await writeAtomically(file, object.bytes);
    },
    async list(prefix) {
      try {
        const entries = await readdir(at(prefix), { recursive: true, withFileTypes: true });
        return entries
          .filter((e) => e.isFile() && !e.name.endsWith(SIDECAR) && !e.name.endsWith('.tmp'))
          .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
      } catch (error) {
        if (isMissing(error)) return [];
        throw error;
      }
    },
    async remove(name) {
      await rm(at(name), { force: true });
      await rm(at(name) + SIDECAR, { force: true });
    },
    close: async () => undefined,
  };
}
