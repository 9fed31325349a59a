/**
 * Process entry: load the config (exit 1 naming the bad variables), set sharp's global knobs
 * once, build the source and the server, listen, and close cleanly on SIGTERM/SIGINT.
 */
import { pino } from 'pino';
import sharp from 'sharp';
import { ConfigError, loadConfig, type Config } from './config.js';
import { buildServer } from './server.js';
import { createSource } from './sources/create-source.js';
import type { ImageSource } from './sources/source.js';
import { createSpecParser } from '../transforms/spec.js';

/** Reads the config and builds the source; a bad setting ends the process naming the variable. */
function configure(): { config: Config; source: ImageSource } {
  try {
    const config = loadConfig(process.env);
    return { config, source: createSource(config) };
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`image-origin: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

const { config, source } = configure();
const logger = pino({ level: config.server.logLevel });

// libvips' operation cache only helps when the same image is processed twice in a row; an origin
// sees a different one each time, so the cache would just hold memory.
sharp.cache(false);
if (config.sharpConcurrency > 0) sharp.concurrency(config.sharpConcurrency);

let ready = false;
const app = buildServer({
  deps: { source, parseSpec: createSpecParser(config.limits), limits: config.limits, cacheControl: config.responses.cacheControl },
  errorCacheControl: config.responses.errorCacheControl,
  logger,
  isReady: () => ready,
});

await app.listen({ host: config.server.host, port: config.server.port });
// One tiny encode loads libvips' codecs now rather than on the first user's request.
await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).webp().toBuffer();
ready = true;
logger.info({ source: source.description, sharp: sharp.versions.sharp, vips: sharp.versions.vips }, 'image-origin ready');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    ready = false;
    logger.info({ signal }, 'shutting down');
    await app.close();
    await source.close();
    process.exit(0);
  });
}
