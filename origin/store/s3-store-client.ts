/**
 * The S3 result store's network half, imported with its first request (`s3-object-store.ts`):
 * undici and aws4 then cost nothing to a process whose result store is never asked.
 */
import { Agent } from '../sources/undici-agent.js';

export { buildS3Request } from '../sources/s3-request.js';

/** The store's own keep-alive pool, so a slow result store never holds the source's connections. */
export const storeAgent = (): Agent => new Agent({ connections: 32 });
