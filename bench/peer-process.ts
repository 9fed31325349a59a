/**
 * Starts the peer (bench/ipx-process.ts) as its own process beside the origin, and stops it
 * through the child registry like every other child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, sleep, tailOf, type ChildRegistry, type ChildRecord } from './children.js';
import { withAllocator } from './environment.js';
import { probe } from './origin-process.js';
import { processMemory } from './system.js';

const ENTRY = fileURLToPath(new URL('./ipx-process.js', import.meta.url));

export interface RunningPeer {
  readonly pid: number;
  readonly base: string;
  readonly child: ChildProcess;
  peakRss(): number | null;
  logTail(): string;
  stop(): Promise<ChildRecord>;
}

export async function startPeer(
  children: ChildRegistry,
  options: { readonly role: string; readonly sourceHost: string; readonly jemallocPath: string | undefined },
): Promise<RunningPeer> {
  const port = await freePort();
  // The same allocator as the origin: the comparison is of the code, not of malloc.
  const env = withAllocator({ ...process.env, PORT: String(port), IPX_SOURCE_HOST: options.sourceHost, NODE_ENV: 'production' }, options.jemallocPath);
  const child = spawn(process.execPath, [ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = children.track(options.role, child);
  const stdout = tailOf(child.stdout);
  const stderr = tailOf(child.stderr);
  const pid = child.pid as number;
  const peer: RunningPeer = {
    pid,
    base: `http://127.0.0.1:${port}`,
    child,
    peakRss: () => processMemory(pid)?.peak ?? null,
    logTail: () => [stdout(), stderr()].filter(Boolean).join('\n'),
    stop: () => children.stop(child),
  };
  let gone = false;
  void exited.then(() => (gone = true));
  for (const started = performance.now(); performance.now() - started < 30_000; ) {
    if (gone) throw new Error(`ipx exited before it was ready:\n${peer.logTail()}`);
    // Any HTTP answer means it listens (no modifiers: ipx answers 400).
    if ((await probe(`${peer.base}/`)) !== undefined) return peer;
    await sleep(20);
  }
  await peer.stop();
  throw new Error(`ipx was not ready within 30 s:\n${peer.logTail()}`);
}
