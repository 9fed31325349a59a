/**
 * Starts the S3-API storage child (bench/storage-process.ts), seeded with the bucket layout, with
 * the failing proxy (fault-proxy.ts) beside it.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildRegistry } from './children.js';
import { tailOf } from './children.js';
import type { BucketLayout } from './images.js';
import type { FaultLog, FaultSettings } from './fault-proxy.js';
import type { ChildMessage, FaultsMessage, ParentMessage, ReadyMessage, SeedMessage } from './storage-process.js';

export interface Storage {
  readonly pid: number;
  /** ORIGIN_SOURCE, S3_* and AWS_* variables for the origin. */
  readonly env: Readonly<Record<string, string>>;
  /** The same, but S3_ENDPOINT is the proxy that fails `faults.rate` of the requests. */
  readonly faultyEnv: Readonly<Record<string, string>>;
  readonly faults: FaultSettings;
  /** Base URL of the HTTP server of copies of the base images (`/copy/<n>/<base key>`, for `peer`). */
  readonly copyUrl: string;
  /** What the failing proxy received and which faults it injected, so far. */
  faultLog(): Promise<FaultLog>;
  close(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./storage-process.js', import.meta.url));

export async function startStorage(layout: BucketLayout, children: ChildRegistry, tmpDir: string, faults: FaultSettings): Promise<Storage> {
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
  const seed: SeedMessage = { type: 'seed', bodies, keys, faults };
  child.send(seed);
  const answer = <T extends ChildMessage>(type: T['type']) =>
    new Promise<T>((resolve) => {
      const listener = (m: ChildMessage) => {
        if (m.type !== type) return;
        child.off('message', listener);
        resolve(m as T);
      };
      child.on('message', listener);
    });

  const ready = await Promise.race([
    answer<ReadyMessage>('ready'),
    exited.then((r) => {
      throw new Error(`storage exited (${r.exitCode ?? r.signal}) before it was ready:\n${stderr()}`);
    }),
  ]);
  if (child.pid === undefined) throw new Error('storage has no pid');
  return {
    pid: child.pid,
    env: ready.env,
    faultyEnv: ready.faultyEnv,
    faults,
    copyUrl: ready.copyUrl,
    async faultLog() {
      const asked: ParentMessage = { type: 'faults' };
      const log = answer<FaultsMessage>('faults');
      child.send(asked);
      const gone = exited.then((r): never => {
        throw new Error(`storage exited (${r.exitCode ?? r.signal}) before it sent its fault log`);
      });
      return (await Promise.race([log, gone])).log;
    },
    close: async () => void (await children.stop(child)),
  };
}
