/**
 * The package's public API for apps: URL building and signing. The server itself is started with
 * `npm start` (origin/main.ts) or embedded through `createOrigin`.
 */
export { buildImageUrl, buildSrcset, type ImageParams, type ImageUrlOptions } from './url-builder.js';
export { computeSignature, signaturePayload, signPathAndQuery } from './signing.js';
export { createOrigin, type Origin } from './create-origin.js';
/** `/metrics` on a port of its own, for apps that embed the origin (`main.ts` starts it from ORIGIN_METRICS_PORT). */
export { buildMetricsServer } from './http/metrics-server.js';
export { loadConfig, type Config } from './config.js';
