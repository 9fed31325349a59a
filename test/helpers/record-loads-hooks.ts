/** Loader hooks of `record-loads.ts`. */
import { appendFileSync } from 'node:fs';

type Load = (url: string, context: object) => Promise<unknown>;

export async function load(url: string, context: object, nextLoad: Load): Promise<unknown> {
  const file = process.env['RECORD_LOADS_TO'];
  if (file) appendFileSync(file, `${url}\n`);
  return nextLoad(url, context);
}
