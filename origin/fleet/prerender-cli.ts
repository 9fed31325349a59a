/**
 * `image-origin prerender <key>... | --from-file keys.txt`: a backfill. Renders the pre-render set
 * (`ORIGIN_PRERENDER`) of each key against the configured source into the result store, exactly
 * as upload events do, with a progress line and a summary (done, skipped, failed). Results already
 * stored are skipped, so an interrupted run resumes where it stopped when started again.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, loadConfig } from '../config.js';
import { createOriginParts } from '../create-origin.js';
import { toSourceKey } from '../sources/parse-key.js';
import { createSource } from '../sources/create-source.js';
import type { PrerenderCounts } from './prerender.js';

export interface PrerenderCliOptions {
  readonly keys: readonly string[];
  readonly fromFile?: string | undefined;
}

/** Keys given on the command line and in the file (one per line; blank lines and `#` comments skipped). */
async function collectKeys(options: PrerenderCliOptions): Promise<string[]> {
  const fromFile = options.fromFile === undefined ? [] : (await readFile(options.fromFile, 'utf8')).split('\n');
  return [...options.keys, ...fromFile].map((k) => k.trim()).filter((k) => k !== '' && !k.startsWith('#'));
}

function bar(doneKeys: number, total: number, counts: PrerenderCounts): string {
  const width = 24;
  const filled = total === 0 ? width : Math.round((doneKeys / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${doneKeys}/${total} keys  done ${counts.done}  skipped ${counts.skipped}  failed ${counts.failed}`;
}

/** Returns the process exit code: 0 when nothing failed, 1 otherwise, 2 for a usage or configuration problem. */
export async function runPrerenderCli(options: PrerenderCliOptions, out: NodeJS.WriteStream = process.stdout, err: NodeJS.WriteStream = process.stderr): Promise<number> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      err.write(`image-origin: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (!config.resultStore) {
    err.write('image-origin: prerender needs ORIGIN_RESULT_STORE (where the variants are kept)\n');
    return 2;
  }
  if (config.fleet.prerender.length === 0) {
    err.write('image-origin: prerender needs ORIGIN_PRERENDER (which presets to render, e.g. thumb,feed)\n');
    return 2;
  }
  const keys = await collectKeys(options);
  if (keys.length === 0) {
    err.write('image-origin: give keys to pre-render, or --from-file keys.txt\n');
    return 2;
  }
  const source = await createSource(config);
  const parts = createOriginParts(config, source);
  const prerender = parts.prerender!;
  const counts: PrerenderCounts = { done: 0, skipped: 0, failed: 0 };
  const failures: string[] = [];
  const interactive = err.isTTY === true;
  try {
    for (const [index, raw] of keys.entries()) {
      let result: PrerenderCounts;
      try {
        result = await prerender.renderKey(toSourceKey(raw.replace(/^\//, '')));
      } catch (error) {
        result = { done: 0, skipped: 0, failed: 1 };
        failures.push(`${raw}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (result.failed > 0 && !failures.some((f) => f.startsWith(`${raw}:`))) failures.push(`${raw}: ${result.failed} variant(s) failed`);
      counts.done += result.done;
      counts.skipped += result.skipped;
      counts.failed += result.failed;
      err.write(interactive ? `\r${bar(index + 1, keys.length, counts)}` : `${bar(index + 1, keys.length, counts)}  ${raw}\n`);
    }
    if (interactive) err.write('\n');
  } finally {
    await parts.results?.close();
    await source.close();
  }
  for (const failure of failures) err.write(`failed: ${failure}\n`);
  out.write(`${JSON.stringify({ keys: keys.length, ...counts })}\n`);
  return counts.failed > 0 ? 1 : 0;
}
