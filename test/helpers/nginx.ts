/**
 * Runs nginx from Debian's package as a plain child process of the test (no system service, no
 * root-owned paths): one process (`master_process off`), in the foreground, with its pid file,
 * logs, temp files and cache under a folder the test owns. Without nginx on PATH the suite is
 * skipped with the install command (support/system.ts), and under CI=true it fails instead: these
 * tests are the proof that a cache does what the origin's headers promise.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startChild, until, acceptsConnections, type RunningChild } from './child-processes.js';

const INSTALL_HINT =
  'nginx is not installed. The CDN-cache tests run deploy/cdn/nginx.conf in a real nginx from Debian\'s packages; ' +
  "install it the way .ci/run does: apt-get update && apt-get install -y --no-install-recommends nginx";

/** Oldest nginx that reads stale-while-revalidate / stale-if-error from Cache-Control. */
const MINIMUM = [1, 11, 10] as const;

export function findNginx(): { binary: string; version: string } {
  const candidates = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'nginx'));
  const binary = candidates.find((candidate) => existsSync(candidate));
  if (!binary) throw new Error(INSTALL_HINT);
  // `nginx -v` prints "nginx version: nginx/1.22.1" on stderr.
  const run = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  const banner = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  const match = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(banner);
  if (!match) throw new Error(`cannot read the version of ${binary}: ${banner || run.error?.message}`);
  const version = match.slice(1, 4).map(Number);
  if (compare(version, MINIMUM) < 0) {
    throw new Error(`${binary} is nginx ${version.join('.')}; the reference configuration needs ${MINIMUM.join('.')} or newer`);
  }
  return { binary, version: version.join('.') };
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Replaces `${NAME}` placeholders (the envsubst spelling the config documents) and fails if any
 * placeholder the caller did not provide is left, so the file and the test cannot drift apart.
 */
export function renderTemplate(template: string, values: Readonly<Record<string, string>>): string {
  const text = template.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (whole, name: string) => values[name] ?? whole);
  const left = [...text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1]);
  if (left.length > 0) throw new Error(`placeholders without a value: ${[...new Set(left)].join(', ')}`);
  return text;
}

export interface RunningNginx {
  readonly child: RunningChild;
  readonly url: string;
  /** error.log so far (for failure messages). */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts nginx on an already rendered config whose paths live under `stateDir`; waits until it answers on `port`. */
export async function startNginx(binary: string, configFile: string, stateDir: string, port: number): Promise<RunningNginx> {
  const errorLog = path.join(stateDir, 'error.log');
  const child = startChild('nginx', binary, ['-p', stateDir, '-c', configFile, '-e', errorLog, '-g', 'daemon off; master_process off;']);
  const url = `http://127.0.0.1:${port}`;
  const readErrorLog = () => readFile(errorLog, 'utf8').catch(() => '');
  try {
    // A TCP connection is enough: an HTTP probe would go through to the origin and be cached.
    await until(
      `nginx listening on ${url}`,
      () => acceptsConnections(port),
      { child },
    );
  } catch (error) {
    await child.stop('SIGKILL');
    throw new Error(`${(error as Error).message}\nerror.log:\n${await readErrorLog()}`);
  }
  return {
    child,
    url,
    errorLog: readErrorLog,
    async stop() {
      await child.stop('SIGTERM', 10_000);
    },
  };
}

/**
 * A cache keyed on the URL alone that honours `Vary`, as a CDN does when nobody configured the
 * format token for it, or a shared cache downstream of the CDN (a corporate proxy). Used to check
 * that a client cannot poison it through the token header, and that a CDN's answers keep formats
 * apart in it.
 */
export const PLAIN_VARY_CACHE = `
worker_processes 1;
pid \${CDN_STATE_DIR}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path \${CDN_STATE_DIR}/client-body;
  proxy_temp_path \${CDN_STATE_DIR}/proxy-temp;
  fastcgi_temp_path \${CDN_STATE_DIR}/fastcgi-temp;
  uwsgi_temp_path \${CDN_STATE_DIR}/uwsgi-temp;
  scgi_temp_path \${CDN_STATE_DIR}/scgi-temp;
  proxy_cache_path \${CDN_STATE_DIR}/cache keys_zone=plain:1m;
  server {
    listen \${CDN_LISTEN};
    location / {
      proxy_pass http://\${IMAGE_ORIGIN};
      proxy_cache plain;
      proxy_cache_key $request_uri;
      add_header X-Cache-Status $upstream_cache_status always;
    }
  }
}
`;
