/**
 * `image-origin edge --target <name>`: the edge code for one CDN, from the origin's configuration
 * (ORIGIN_DPR_STEPS, ORIGIN_WIDTH_STEPS, the presets). One description of the rules (rules.ts),
 * one module per family of targets.
 */
import type { Config } from '../config.js';
import { loadPresets } from '../create-origin.js';
import { createSpecParser } from '../../transforms/parse-spec.js';
import { alibabaEdgeRoutine, cloudflareWorker, cloudfrontFunction } from './javascript.js';
import { nginxSnippet } from './nginx.js';
import { buildEdgeRules, type EdgeRules } from './rules.js';
import { vclSubroutines } from './vcl.js';

export const EDGE_TARGETS = ['cloudfront-function', 'alibaba-edgeroutine', 'cloudflare-worker', 'fastly-vcl', 'varnish-vcl', 'nginx'] as const;
export type EdgeTarget = (typeof EDGE_TARGETS)[number];

export function isEdgeTarget(name: string): name is EdgeTarget {
  return (EDGE_TARGETS as readonly string[]).includes(name);
}

/** The rules for this configuration (its steps and its presets, validated as at start-up). */
export function edgeRulesFor(config: Config): EdgeRules {
  const catalog = loadPresets(config, createSpecParser(config.limits));
  return buildEdgeRules(config.hints, catalog.presets);
}

export function generateEdge(target: EdgeTarget, rules: EdgeRules): string {
  switch (target) {
    case 'cloudfront-function':
      return cloudfrontFunction(rules);
    case 'alibaba-edgeroutine':
      return alibabaEdgeRoutine(rules);
    case 'cloudflare-worker':
      return cloudflareWorker(rules);
    case 'fastly-vcl':
      return vclSubroutines(rules, 'fastly');
    case 'varnish-vcl':
      return vclSubroutines(rules, 'varnish');
    case 'nginx':
      return nginxSnippet(rules);
  }
}
