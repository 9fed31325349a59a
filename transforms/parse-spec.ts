/**
 * Reads transform parameters from a query into a `RequestedSpec`, by the parameter table. Unknown,
 * repeated, out-of-range and contradicting parameters are all refused with one InvalidRequestError naming each,
 * because every accepted spelling would be another variant a CDN has to store.
 */
import { InvalidRequestError, type Problem } from './errors.js';
import type { TransformLimits } from './limits.js';
import { PARAM_NAMES, PARAMS, type ParamName, type RequestedSpec } from './params.js';

export type SpecParser = (query: URLSearchParams) => RequestedSpec;

/** Builds the parser once per set of limits (the bounds of `w`/`h` come from config). */
export function createSpecParser(limits: TransformLimits): SpecParser {
  const schemas = new Map(PARAM_NAMES.map((name) => [name, PARAMS[name].schema(limits)] as const));

  return function parseSpec(query) {
    const problems: Problem[] = [];
    const values: Partial<Record<ParamName, unknown>> = {};
    for (const [name, raw] of query) {
      const schema = schemas.get(name as ParamName);
      if (!schema) problems.push({ param: name, message: 'unknown parameter' });
      else if (name in values) problems.push({ param: name, message: 'given more than once' });
      else {
        const result = schema.safeParse(raw);
        values[name as ParamName] = result.data;
        if (!result.success) problems.push({ param: name, message: result.error.issues.map((i) => i.message).join(', ') });
      }
    }
    const spec = values as RequestedSpec;
    problems.push(...combinationProblems(spec));
    if (problems.length > 0) throw new InvalidRequestError(dedupeProblems(problems));
    return spec;
  };
}

/** Parameters that are valid alone but contradict each other. */
function combinationProblems(spec: RequestedSpec): Problem[] {
  const problems: Problem[] = [];
  if (spec.cropg !== undefined && spec.crop === undefined) problems.push({ param: 'cropg', message: 'needs crop' });
  if (spec.icrop !== undefined && spec.crop !== undefined) problems.push({ param: 'icrop', message: 'cannot be combined with crop' });
  if (spec.scale !== undefined && (spec.w !== undefined || spec.h !== undefined)) {
    problems.push({ param: 'scale', message: 'cannot be combined with w or h' });
  }
  if (spec.round !== undefined && spec.circle !== undefined) problems.push({ param: 'round', message: 'cannot be combined with circle' });
  return problems;
}

/** A parameter repeated ten times is one problem, not ten. */
function dedupeProblems(problems: Problem[]): Problem[] {
  const unique = new Map(problems.map((p) => [`${p.param}\0${p.message}`, p]));
  return [...unique.values()];
}
