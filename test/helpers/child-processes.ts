/**
 * Child processes for tests that run real programs (the origin's own process, nginx, npm):
 * output kept for failure messages, an exit promise, and a stop that always ends the process
 * (SIGTERM first, SIGKILL if it lingers), so no test leaves anything running, failing or not.
 * Waiting is by condition, never by a time a noisy machine might miss: `until` polls a probe and
 * only gives up after a generous cap, or at once when the process it waits for has died.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import net from 'node:net';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunningChild {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  /** The exit, once it happened. */
  exit(): Exit | undefined;
  /** The last 64 KiB of stdout and stderr together. */
  output(): string;
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves with the exit. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
}

const OUTPUT_LIMIT = 64 * 1024;

export function startChild(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): RunningChild {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve((exit = { code, signal })));
    child.once('error', (error) => {
      keep(Buffer.from(`\n[${name}: ${error.message}]\n`));
      resolve((exit = { code: null, signal: null }));
    });
  });
  return {
    name,
    process: child,
    pid: child.pid ?? -1,
    exited,
    exit: () => exit,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000) {
      if (exit) return exit;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Runs a command to completion; rejects with its output when it fails. */
export async function runToEnd(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): Promise<string> {
  const child = startChild(name, command, args, options);
  const { code, signal } = await child.exited;
  if (code !== 0) {
    throw new Error(`${name} failed (${signal ?? `exit ${code}`}): ${command} ${args.join(' ')}\n${child.output()}`);
  }
  return child.output();
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Sleeps until the wall clock passes `epochMs` (a no-op when it already has). */
export const sleepUntil = (epochMs: number): Promise<void> => sleep(epochMs - Date.now());

/**
 * Polls `probe` (errors count as "not yet") until it returns a value. Fails at once with the
 * child's output when `child` exits meanwhile, and after `capMs` otherwise: the cap only turns
 * a hang into a readable failure and is far above what any healthy run needs.
 */
/** True once a TCP connection to the loopback `port` succeeds, else undefined (for `until`). */
export function acceptsConnections(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(undefined));
  });
}

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { child, capMs = 120_000, everyMs = 50 }: { child?: RunningChild; capMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + capMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    const exit = child?.exit();
    if (child && exit) {
      throw new Error(`${child.name} exited (${exit.signal ?? `code ${exit.code}`}) while waiting for ${what}:\n${child.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}${child ? `; ${child.name} said:\n${child.output()}` : ''}`);
    await sleep(everyMs);
  }
}
