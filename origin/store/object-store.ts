/**
 * The byte-level storage the result store keeps its objects in: an S3-compatible bucket or a
 * folder. Names are `/`-separated and already safe (made by `result-key.ts`, or fixed names like
 * the block list); the store's own prefix is added by the implementation.
 */

export interface StoredObject {
  readonly bytes: Buffer;
  readonly contentType: string;
  /** User metadata (S3 `x-amz-meta-*`), lower-case names, ASCII values. */
  readonly meta: Readonly<Record<string, string>>;
}

export interface ObjectStore {
  /** `s3://bucket/prefix/` or `fs:/dir`, never credentials. */
  readonly description: string;
  /** The object, or undefined when there is none; throws on any other failure. */
  read(name: string, signal: AbortSignal): Promise<StoredObject | undefined>;
  write(name: string, object: StoredObject, signal: AbortSignal): Promise<void>;
  /** Names under `prefix` (which ends with `/`). */
  list(prefix: string, signal: AbortSignal): Promise<string[]>;
  /** Removes the object; no error when it is already gone. */
  remove(name: string, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Thrown for an answer the store should not have given; counted and logged by the caller. */
export class ObjectStoreError extends Error {}
