/**
 * Runs Varnish from Debian's package (`/usr/sbin/varnishd`) as a plain foreground child of the
 * test: its own working directory (`-n`), loopback listener, a small malloc store, no jail (so it
 * needs no system user or folder), the management port on loopback only. `stop()` always ends it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, startChild, until, acceptsConnections, type RunningChild } from './child-processes.js';

export const VARNISHD = '/usr/sbin/varnishd';

export interface RunningVarnish {
  readonly child: RunningChild;
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts varnishd on `vcl` (already rendered) with `dir` as its working folder. */
export async function startVarnish(vcl: string, dir: string): Promise<RunningVarnish> {
  await mkdir(dir, { recursive: true });
  const vclFile = path.join(dir, 'default.vcl');
  await writeFile(vclFile, vcl);
  const port = await freePort();
  const admin = await freePort();
  const child = startChild('varnishd', VARNISHD, [
    '-F',
    '-n', path.join(dir, 'work'),
    '-a', `127.0.0.1:${port}`,
    '-T', `127.0.0.1:${admin}`,
    '-f', vclFile,
    '-s', 'malloc,64m',
    '-j', 'none',
  ]);
  const url = `http://127.0.0.1:${port}`;
  try {
    // VCL is compiled to C first, which takes a few seconds; a TCP connection shows it listens.
    await until(
      `varnishd listening on ${url}`,
      () => acceptsConnections(port),
      { child },
    );
  } catch (error) {
    await child.stop('SIGKILL');
    throw error;
  }
  return { child, url, stop: async () => void (await child.stop('SIGTERM', 10_000)) };
}
