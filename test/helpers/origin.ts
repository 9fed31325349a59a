/**
 * Runs the real origin (config → source → fastify server) on a loopback port for tests, with a
 * silent logger and counters around the source, so a test can prove that a 304 fetched nothing.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../origin/config.js';
import { createOrigin, type Origin, type OriginParts } from '../../origin/create-origin.js';
import { buildServer, type Server, type ServerOptions } from '../../origin/http/server.js';
import { createSource } from '../../origin/sources/create-source.js';
import type { ImageSource } from '../../origin/sources/source.js';

export interface SourceCalls {
  fetch: number;
  stat: number;
}

export interface RunningOrigin {
  readonly url: string;
  readonly config: Config;
  readonly calls: SourceCalls;
  readonly origin: Origin;
  /** The Prometheus text of this origin's /metrics. */
  metrics(): Promise<string>;
  close(): Promise<void>;
}

function countCalls(source: ImageSource, calls: SourceCalls): ImageSource {
  return {
    description: source.description,
    fetch: (key, signal) => (calls.fetch++, source.fetch(key, signal)),
    stat: (key, signal) => (calls.stat++, source.stat(key, signal)),
    close: () => source.close(),
  };
}

/** `logTo` receives the origin's JSON log lines; silent when omitted. */
export async function startOrigin(env: Record<string, string>, logTo?: { write(line: string): void }): Promise<RunningOrigin> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', ...env });
  const calls: SourceCalls = { fetch: 0, stat: 0 };
  const source = countCalls(await createSource(config), calls);
  const logger = logTo ? pino({ level: 'info' }, logTo) : pino({ level: 'silent' });
  const origin = createOrigin(config, source, logger);
  origin.setReady(true);
  await origin.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = origin.app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    calls,
    origin,
    metrics: () => origin.metrics.text(),
    async close() {
      await origin.app.close();
      await origin.admin?.close();
      origin.takedown.stop();
      origin.prerender?.stop();
      origin.background?.close();
      await origin.results?.close();
      await source.close();
    },
  };
}

/**
 * A server over one origin's parts, configured as `createOrigin` configures it (silent, always
 * ready); `overrides` replace options, so two servers over the same parts can differ in one.
 */
export function serverOverParts(config: Config, parts: OriginParts, overrides: Partial<ServerOptions> = {}): Server {
  return buildServer({
    flow: parts.flow,
    metrics: parts.metrics,
    errorCacheControl: config.responses.errorCacheControl,
    requestDeadlineMs: config.load.requestDeadlineMs,
    connections: config.server.connections,
    requiredHeader: config.server.requiredHeader,
    cors: config.delivery.cors,
    logger: pino({ level: 'silent' }),
    isReady: () => true,
    ...overrides,
  });
}

/** The value of one sample in Prometheus text, e.g. `metricValue(text, 'image_origin_transforms_total{format="webp"}')`; 0 when absent. */
export function metricValue(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

/** Sum of every sample of a metric, whatever its labels. */
export function metricSum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * A GET with the path sent byte for byte: fetch() would normalise `..` and `%2e%2e` away before
 * they reach the server, and those are exactly what traversal tests need to send.
 */
export function rawGet(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export function jsonError(response: RawResponse): { code: string; message: string; problems?: { param: string; message: string }[] } {
  const parsed = JSON.parse(response.body.toString('utf8')) as { error: { code: string; message: string } };
  return parsed.error;
}
