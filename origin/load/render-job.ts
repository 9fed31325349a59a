/**
 * Makes a job's body from the source's bytes: the sharp pipeline for an image variant, or the JSON
 * description in the shape the request asked for (native, or Alibaba OSS's `info` / `average-hue`).
 */
import { MIME_TYPES } from '../../transforms/formats.js';
import { describeImage, type ImageInfo } from '../../transforms/describe-image.js';
import type { TransformLimits } from '../../transforms/limits.js';
import { toOssAverageHue, toOssInfo } from '../request/oss/info.js';
import type { DecodeReuse } from '../../transforms/decoded-source.js';
import { estimateMemory, runPipeline } from '../../transforms/pipeline.js';
import type { InfoShape } from '../request/read-request.js';
import type { QualityLookup } from './autoquality.js';
import type { Job } from './jobs.js';

export interface Rendered {
  readonly data: Buffer;
  readonly contentType: string;
  /** Metrics label: the output format, or `info`. */
  readonly label: string;
}

const INFO_SHAPES: Readonly<Record<InfoShape, (info: ImageInfo) => unknown>> = {
  native: (info) => info,
  'oss-info': toOssInfo,
  'oss-average-hue': toOssAverageHue,
};

export async function renderJob(
  job: Job,
  source: Buffer,
  assets: { readonly logo?: Buffer | undefined; readonly decodes?: DecodeReuse | undefined; readonly qualityFor?: QualityLookup | undefined },
  limits: TransformLimits,
): Promise<Rendered> {
  if (job.kind === 'info') {
    const body = JSON.stringify(INFO_SHAPES[job.shape](await describeImage(source, limits)));
    return { data: Buffer.from(body), contentType: 'application/json; charset=utf-8', label: 'info' };
  }
  const result = await runPipeline(source, job.spec, limits, {
    ...(assets.logo && { watermarkLogo: assets.logo }),
    ...(assets.decodes && { decodes: assets.decodes }),
    ...(assets.qualityFor && { qualityFor: assets.qualityFor }),
  });
  return { data: result.data, contentType: MIME_TYPES[result.format], label: result.format };
}

/** A description reads the header, or a small decode for the average hue. */
const INFO_MEMORY_BYTES = 4 * 1024 * 1024;

/** The job's estimated peak memory, in bytes: what the transform queue admits it by. */
export function memoryFor(job: Job, source: Buffer, limits: TransformLimits): Promise<number> {
  return job.kind === 'info' ? Promise.resolve(INFO_MEMORY_BYTES) : estimateMemory(source, job.spec, limits);
}
