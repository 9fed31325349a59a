/**
 * The origin as its own process (`node dist/origin/main.js`) on loopback ports, for tests about
 * what survives a restart or what several replicas do together: each has its own tiers and its own
 * metrics listener, read through `metrics()`. The environment is the test's alone (no ORIGIN_, S3_
 * or AWS_ variable leaks in from the shell).
 */
import path from 'node:path';
import { PROJECT_ROOT } from '../../support/paths.js';
import { freePort, startChild, until, type RunningChild } from './child-processes.js';
import { rawGet } from './origin.js';

export interface OriginProcess {
  readonly child: RunningChild;
  readonly port: number;
  readonly url: string;
  metrics(): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startOriginProcess(name: string, env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<OriginProcess> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ORIGIN_|S3_|AWS_|RESULT_)/.test(k)));
  const child = startChild(name, process.execPath, [...nodeArgs, path.join('dist', 'origin', 'main.js')], {
    cwd: PROJECT_ROOT,
    env: { ...inherited, HOST: '127.0.0.1', PORT: String(port), ORIGIN_METRICS_PORT: String(metricsPort), LOG_LEVEL: 'warn', ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  await until(`${name} to be ready`, async () => ((await rawGet(url, '/readyz')).status === 200 ? true : undefined), { child });
  return {
    child,
    port,
    url,
    metrics: async () => (await rawGet(`http://127.0.0.1:${metricsPort}`, '/metrics')).body.toString('utf8'),
    async stop(signal = 'SIGTERM') {
      await child.stop(signal);
    },
  };
}
