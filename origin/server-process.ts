/**
 * The server process, loaded by `main.ts`: load the config (exit 1 naming the bad variables), set
 * sharp's global knobs once, build the origin, listen on the main port and the metrics port, and
 * shut down on SIGTERM/SIGINT within the grace period whatever is stuck (`shutdown.ts`).
 */
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { sharp } from '../transforms/sharp.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createOrigin, type Origin } from './create-origin.js';
import { buildMetricsServer } from './http/metrics-server.js';
import { keepTransformThreadsLow } from './load/thread-priority.js';
import { shutDownOnSignals } from './shutdown.js';
import { createSource } from './sources/create-source.js';
import type { ImageSource } from './sources/source.js';

/** Reads the config, builds the source and the origin; a bad setting ends the process naming the variable. */
async function configure(): Promise<{ config: Config; source: ImageSource; logger: Logger; origin: Origin }> {
  try {
    const config = loadConfig(process.env);
    const logger = pino({ level: config.server.logLevel });
    const source = await createSource(config);
    return { config, source, logger, origin: createOrigin(config, source, logger) };
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`image-origin: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** Listens, or ends the process naming the variable behind a port it cannot have. */
async function listen(app: FastifyInstance, host: string, port: number, variable: string): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    process.stderr.write(`image-origin: cannot listen on ${host}:${port} (${variable}): ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

const { config, source, logger, origin } = await configure();
const { host, port, metricsPort } = config.server;

// libvips' operation cache only helps when the same image is processed twice in a row; an origin
// sees a different one each time, so the cache would just hold memory.
sharp.cache(false);
if (config.sharpConcurrency > 0) sharp.concurrency(config.sharpConcurrency);

// One tiny encode initialises libvips' codecs before the platform routes users here (`/readyz`
// waits for it). It runs on libuv's pool while the ports open, not ahead of them: awaited between
// listening and the first request it only delayed that request, by the 6–12 ms it takes on the
// 2-core VM (README "Start-up and hit-path figures").
const warmUp = sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).webp().toBuffer();

await listen(origin.app, host, port, 'PORT');
// Its own port keeps /metrics off the address the CDN reaches.
const metricsApp = metricsPort === undefined ? undefined : buildMetricsServer(origin.metrics, logger.child({ server: 'metrics' }), config.server.connections);
if (metricsApp && metricsPort !== undefined) await listen(metricsApp, host, metricsPort, 'ORIGIN_METRICS_PORT');
if (origin.admin && config.fleet.adminPort !== undefined) await listen(origin.admin, host, config.fleet.adminPort, 'ORIGIN_ADMIN_PORT');

await warmUp;
// The warm-up started libvips' workers; from now on they stay below the event loop.
const stopLowering = config.transformThreadNice > 0 ? keepTransformThreadsLow(config.transformThreadNice) : () => {};
origin.setReady(true);
logger.info({ source: source.description, resultStore: origin.results?.description ?? 'off', adminPort: config.fleet.adminPort ?? 'off', metricsPort: metricsPort ?? 'off', sharp: sharp.versions.sharp, vips: sharp.versions.vips }, 'image-origin ready');

shutDownOnSignals({
  // Synchronous: the default writer goes through libuv's thread pool, which may be what is stuck.
  logger: pino({ level: config.server.logLevel }, pino.destination({ dest: 1, sync: true })),
  graceMs: config.server.shutdownGraceMs,
  setReady: origin.setReady,
  async drain() {
    await origin.app.close(); // stops accepting, answers 503 to new requests, waits for in-flight ones
    await metricsApp?.close();
    await origin.admin?.close();
    origin.takedown.stop();
    origin.prerender?.stop();
    origin.background?.close();
    stopLowering();
    await origin.results?.close(); // queued result-store writes finish (each within its timeout)
    await source.close();
  },
  inFlight: () => ({
    requests: origin.inFlightRequests(),
    transformsRunning: origin.transformQueue.running,
    transformsQueued: origin.transformQueue.queued,
  }),
  dropConnections() {
    origin.app.server.closeAllConnections();
    metricsApp?.server.closeAllConnections();
    origin.admin?.server.closeAllConnections();
  },
});
