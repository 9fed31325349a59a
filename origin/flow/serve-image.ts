/**
 * The request flow of one image request, top to bottom, in the README's order ("Request flow").
 * Each stage is a named function in a module of its own; this function only says in which order
 * they run and what each passes on. Plain objects in and out, no fastify, so the flow is tested
 * without sockets and the route stays a thin adapter.
 */
import { canonicalizeSpec } from '../../transforms/canonical.js';
import type { TransformLimits } from '../../transforms/limits.js';
import type { FallbackConfig } from '../delivery-config.js';
import { resolveHints, type HintSteps } from '../http/client-hints.js';
import { hasConditions, type ConditionalHeaders } from '../http/conditional.js';
import { formatToken } from '../http/negotiate-format.js';
import { economyJob, imageJob, infoJob, type Job } from '../load/jobs.js';
import type { Originals } from '../load/originals.js';
import type { Variants } from '../load/variants.js';
import { readRequest, type RawRequest, type RequestDeps } from '../request/read-request.js';
import { answer, answerFromStat, imagePolicy, type ImageResponse, type ResponsePolicy } from './answer.js';
import { answerFallback, planFallback } from './fallback.js';

export interface FlowDeps {
  readonly reading: RequestDeps;
  readonly hints: HintSteps;
  readonly limits: TransformLimits;
  readonly originals: Originals;
  readonly variants: Variants;
  readonly cacheControl: string;
  readonly degradedCacheControl: string;
  readonly fallback: FallbackConfig;
  /** ORIGIN_QUALITY_TARGET: what variants aim at unless the preset says otherwise. */
  readonly qualityTarget: number;
  /** ORIGIN_AUTOQUALITY: whether the target is met per image unless the preset says otherwise. */
  readonly autoQuality: boolean;
}

export interface IncomingRequest extends RawRequest {
  /** Aborts when the client hangs up or the request's deadline passes. */
  readonly signal: AbortSignal;
}

export async function serveImage(deps: FlowDeps, req: IncomingRequest): Promise<ImageResponse> {
  // 1. Read and verify: signature, key, dialect (native, preset, OSS, info), parameters. 400/403/404.
  const request = readRequest(deps.reading, req);
  let job: Job;
  let policy: ResponsePolicy = { cacheControl: deps.cacheControl, degradedCacheControl: deps.degradedCacheControl, vary: [] };
  if (request.kind === 'info') job = infoJob(request.key, request.shape);
  else {
    // 2. Apply hints: w=auto, dpr=auto and Save-Data from the client hints, snapped to steps.
    const hints = resolveHints(request.spec, req.header, deps.hints, request.preset?.width);
    // 3. Negotiate: Accept (or the CDN's X-Image-Format-Token) → avif | webp | legacy.
    const token = formatToken(req.header);
    // 4. Canonicalize: DPR applied, sizes capped, defaults and quality decided, no-ops dropped.
    const qualityTarget = request.preset?.qualityTarget ?? deps.qualityTarget;
    const autoQuality = request.preset?.autoQuality ?? deps.autoQuality;
    const context = { token, ...hints, qualities: request.preset?.qualities, qualityTarget, autoQuality, watermark: request.watermark };
    const spec = canonicalizeSpec(request.spec, context, deps.limits);
    job = imageJob(request.key, spec);
    policy = imagePolicy(spec, hints.vary, request.preset?.cacheControl ?? deps.cacheControl, deps.degradedCacheControl);
  }
  const conditions = { ifNoneMatch: req.header('if-none-match'), ifModifiedSince: req.header('if-modified-since') };
  try {
    return await produceAndAnswer(deps, req.signal, conditions, policy, job);
  } catch (error) {
    // 9. Fall back: a missing source answers the fallback image, made like the request (502 when it is missing too).
    const fallback = planFallback(deps.fallback, error, job, policy, request.kind === 'variant' ? request.preset : undefined);
    if (!fallback) throw error;
    const fallbackConditions = fallback.conditional ? conditions : {};
    return answerFallback(deps.fallback, () => produceAndAnswer(deps, req.signal, fallbackConditions, fallback.policy, fallback.job));
  }
}

/** Stages 5 to 8, for one job: from the tiers, a 304 from a stat, or made now. */
async function produceAndAnswer(deps: FlowDeps, signal: AbortSignal, conditions: ConditionalHeaders, policy: ResponsePolicy, job: Job): Promise<ImageResponse> {
  // 5. Consult the tiers: the variant, or under pressure its cheaper twin (a kept full-quality one still wins).
  let chosen = job;
  let kept = deps.variants.lookup(job);
  const economy = !kept && deps.variants.shouldDegrade(job) ? economyJob(job) : undefined;
  if (economy) [chosen, kept] = [economy, deps.variants.lookup(economy)];
  if (kept) return answer(conditions, policy, chosen, kept, true);

  // 6. Answer conditionally: a (coalesced, queued) source stat, then 304 without fetching anything.
  if (hasConditions(conditions)) {
    const stat = await deps.originals.stat(job.key, signal);
    const notModified = answerFromStat(conditions, policy, economy ? [job, economy] : [job], stat);
    if (notModified) return notModified;
  }

  // 7. Produce: join the same variant in flight, or reserve a transform place (503), fetch, transform.
  const made = await deps.variants.make(chosen, signal);

  // 8. Answer: 200 with the variant, or 304 if the client already holds it.
  return answer(conditions, policy, chosen, made, false);
}
