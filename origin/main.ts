/**
 * Process entry: load the config (exit 1 naming the bad variables), set sharp's global knobs
 * once, build the origin, listen, and shut down gracefully on SIGTERM/SIGINT: `/readyz` turns
 * 503, no new connections are accepted, in-flight requests finish within the grace period, and
 * the process exits 0.
 */
import fastify, { type FastifyBaseLogger } from 'fastify';
import { pino, type Logger } from 'pino';
import sharp from 'sharp';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createOrigin, type Origin } from './create-origin.js';
import { installMetricsRoute } from './http/routes/metrics.js';
import { createSource } from './sources/create-source.js';
import type { ImageSource } from './sources/source.js';

/** Reads the config, builds the source and the origin; a bad setting ends the process naming the variable. */
function configure(): { config: Config; source: ImageSource; logger: Logger; origin: Origin } {
  try {
    const config = loadConfig(process.env);
    const logger = pino({ level: config.server.logLevel });
    const source = createSource(config);
    return { config, source, logger, origin: createOrigin(config, source, logger) };
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`image-origin: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

const { config, source, logger, origin } = configure();

// libvips' operation cache only helps when the same image is processed twice in a row; an origin
// sees a different one each time, so the cache would just hold memory.
sharp.cache(false);
if (config.sharpConcurrency > 0) sharp.concurrency(config.sharpConcurrency);

await origin.app.listen({ host: config.server.host, port: config.server.port });

// A separate port keeps /metrics off the address the CDN reaches.
const metricsLogger: FastifyBaseLogger = logger.child({ server: 'metrics' });
const metricsApp = config.server.metricsPort === undefined ? undefined : fastify({ loggerInstance: metricsLogger });
if (metricsApp && config.server.metricsPort !== undefined) {
  installMetricsRoute(metricsApp, origin.metrics);
  await metricsApp.listen({ host: config.server.host, port: config.server.metricsPort });
}

// One tiny encode loads libvips' codecs now rather than on the first user's request.
await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).webp().toBuffer();
origin.setReady(true);
logger.info({ source: source.description, sharp: sharp.versions.sharp, vips: sharp.versions.vips }, 'image-origin ready');

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  origin.setReady(false);
  logger.info({ signal, graceMs: config.server.shutdownGraceMs }, 'shutting down: finishing in-flight requests');
  // Past the grace period the platform would kill us anyway; leave with what is done.
  setTimeout(() => {
    logger.warn('grace period over, exiting with requests still in flight');
    process.exit(0);
  }, config.server.shutdownGraceMs).unref();
  await origin.app.close(); // stops accepting, answers 503 to new requests, waits for in-flight ones
  await metricsApp?.close();
  await source.close();
  logger.info('shut down cleanly');
  process.exit(0);
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
