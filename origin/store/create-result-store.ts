/** Picks the object store named by `ORIGIN_RESULT_STORE`. */
import { createFsObjectStore } from './fs-object-store.js';
import type { ObjectStore } from './object-store.js';
import { createS3ObjectStore } from './s3-object-store.js';
import type { ResultStoreConfig } from './store-config.js';

export function createObjectStore(config: ResultStoreConfig): ObjectStore {
  return config.kind === 's3' ? createS3ObjectStore(config.target) : createFsObjectStore(config.root);
}
