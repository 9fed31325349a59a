/** Starts the bare fastify reference (bench/bare-server.ts) holding the given responses. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tailOf, type ChildRegistry } from './children.js';
import type { BareEntry, BareSetup } from './bare-server.js';

const ENTRY = fileURLToPath(new URL('./bare-server.js', import.meta.url));

export interface BareServer {
  readonly pid: number;
  readonly base: string;
  close(): Promise<void>;
}

export async function startBareServer(entries: readonly BareEntry[], children: ChildRegistry): Promise<BareServer> {
  const child = fork(ENTRY, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const exited = children.track('bare fastify', child);
  const stderr = tailOf(child.stderr);
  const setup: BareSetup = { entries };
  child.send(setup);
  const { port } = await Promise.race([
    new Promise<{ port: number }>((resolve) => child.once('message', (m: { port: number }) => resolve(m))),
    exited.then((r) => {
      throw new Error(`bare server exited (${r.exitCode ?? r.signal}):\n${stderr()}`);
    }),
  ]);
  return {
    pid: child.pid as number,
    base: `http://127.0.0.1:${port}`,
    close: async () => void (await children.stop(child)),
  };
}
