/**
 * The package's public API for apps: URL building and signing. The server itself is started with
 * `npm start` (origin/main.ts) or embedded through `createOrigin`.
 */
export { buildImageUrl, buildSrcset, type ImageParams, type ImageUrlOptions } from './url-builder.js';
export { computeSignature, signaturePayload, signPathAndQuery } from './signing.js';
export { createOrigin, type Origin } from './create-origin.js';
export { loadConfig, type Config } from './config.js';
