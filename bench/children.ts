/**
 * Every process the benchmark starts goes through one registry, so that however a run ends
 * (finished, failed, Ctrl-C) each child is stopped by its own pid and its exit is recorded:
 * the plumbing test asserts from these records that nothing was left running.
 */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface ChildRecord {
  readonly role: string;
  readonly pid: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  exited: boolean;
}

export interface ChildRegistry {
  /** Records `child` and returns a promise of its exit. */
  track(role: string, child: ChildProcess): Promise<ChildRecord>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
  stop(child: ChildProcess, graceMs?: number): Promise<ChildRecord>;
  /** Stops every child still running. */
  stopAll(): Promise<void>;
  readonly records: readonly ChildRecord[];
}

export function createChildRegistry(): ChildRegistry {
  const records: ChildRecord[] = [];
  const running = new Map<ChildProcess, Promise<ChildRecord>>();

  function track(role: string, child: ChildProcess): Promise<ChildRecord> {
    if (child.pid === undefined) throw new Error(`${role} did not start`);
    const record: ChildRecord = { role, pid: child.pid, exitCode: null, signal: null, exited: false };
    records.push(record);
    const exit = new Promise<ChildRecord>((resolve) => {
      child.once('exit', (code, signal) => {
        Object.assign(record, { exitCode: code, signal, exited: true });
        running.delete(child);
        resolve(record);
      });
    });
    running.set(child, exit);
    return exit;
  }

  async function stop(child: ChildProcess, graceMs = 30_000): Promise<ChildRecord> {
    const exit = running.get(child);
    const record = records.find((r) => r.pid === child.pid);
    if (!exit) {
      if (!record) throw new Error(`pid ${child.pid} was not started through the registry`);
      return record;
    }
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await exit;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    track,
    stop,
    async stopAll() {
      await Promise.all([...running.keys()].map((child) => stop(child, 5_000)));
    },
    records,
  };
}

/** A port that was free a moment ago (the child binds it itself; the race is harmless on loopback). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Keeps the last `lines` lines a child wrote, to show when it fails. */
export function tailOf(stream: NodeJS.ReadableStream | null, lines = 20): () => string {
  const kept: string[] = [];
  let partial = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    kept.push(...parts);
    if (kept.length > lines) kept.splice(0, kept.length - lines);
  });
  return () => [...kept, partial].filter(Boolean).join('\n');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
