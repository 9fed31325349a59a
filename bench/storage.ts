/** Starts the S3-API storage child (bench/storage-process.ts), seeded with the bucket layout. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildRegistry } from './children.js';
import { tailOf } from './children.js';
import type { BucketLayout } from './images.js';
import type { ReadyMessage, SeedMessage } from './storage-process.js';

export interface Storage {
  readonly pid: number;
  /** ORIGIN_SOURCE, S3_* and AWS_* variables for the origin. */
  readonly env: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./storage-process.js', import.meta.url));

export async function startStorage(layout: BucketLayout, children: ChildRegistry, tmpDir: string): Promise<Storage> {
  const child = fork(ENTRY, [], {
    serialization: 'advanced', // Buffers cross IPC as bytes, not as JSON arrays
    // s3rver's folder goes under the run's temporary folder, removed with it in any case.
    env: { ...process.env, TMPDIR: tmpDir },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const exited = children.track('storage (s3rver)', child);
  const stderr = tailOf(child.stderr);

  // Copies of one image share one body in the message.
  const names = new Map<Buffer, string>();
  const bodies: Record<string, Buffer> = {};
  const keys: [string, string][] = [];
  for (const [key, bytes] of layout.objects) {
    let name = names.get(bytes);
    if (name === undefined) {
      name = `body${names.size}`;
      names.set(bytes, name);
      bodies[name] = bytes;
    }
    keys.push([key, name]);
  }
  const seed: SeedMessage = { bodies, keys };
  child.send(seed);

  const ready = await Promise.race([
    new Promise<ReadyMessage>((resolve) => child.once('message', (m: ReadyMessage) => resolve(m))),
    exited.then((r) => {
      throw new Error(`storage exited (${r.exitCode ?? r.signal}) before it was ready:\n${stderr()}`);
    }),
  ]);
  if (child.pid === undefined) throw new Error('storage has no pid');
  return {
    pid: child.pid,
    env: ready.env,
    close: async () => void (await children.stop(child)),
  };
}
