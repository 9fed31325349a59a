/**
 * What every source (folder, S3-compatible bucket, HTTP base URL) offers the origin: the bytes of
 * an object with a version, or just the version for conditional requests. Keys reaching a source
 * are already checked by `parseKey` (no `..`, NUL, backslash or absolute paths); each source still
 * enforces its own boundary (folder root, bucket prefix, base URL).
 */

/** A validated object key: `/`-separated segments, no empty, `.` or `..` segments, no NUL. */
export type SourceKey = string & { readonly __brand: 'SourceKey' };

export interface SourceStat {
  /** Changes whenever the object's bytes change: the storage ETag, or mtime+size for files. */
  readonly version: string;
  readonly lastModified?: Date;
}

export interface SourceObject extends SourceStat {
  readonly bytes: Buffer;
}

export interface ImageSource {
  /** Short description for logs (`fs:/srv/images`, `s3://bucket/prefix`), never credentials. */
  readonly description: string;
  /** Fetches the whole object, enforcing the size limit while streaming. */
  fetch(key: SourceKey, signal?: AbortSignal): Promise<SourceObject>;
  /** Metadata only (S3 HEAD, fs stat): enough to answer a conditional request. */
  stat(key: SourceKey, signal?: AbortSignal): Promise<SourceStat>;
  close(): Promise<void>;
}
