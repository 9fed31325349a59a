/**
 * Process entry (`npm start`, the Docker image's CMD). It only turns on Node's module compile
 * cache, then loads the server (`server-process.ts`): the cache must be on before the modules it
 * should cover are compiled, and static imports would all be compiled before this line ran.
 */
import { enableCompileCache } from './startup/compile-cache.js';

enableCompileCache();
await import('./server-process.js');
