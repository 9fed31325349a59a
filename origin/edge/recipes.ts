/**
 * Fills the generated parts of a hand-written recipe (deploy/cdn/nginx.conf, varnish.vcl): each
 * part sits between a `# BEGIN image-origin edge <part>` line and its `# END image-origin edge
 * <part>` line, and is replaced by the generator's output, so the recipe's own policy stays as
 * written and its normalisation always matches the origin's configuration.
 * `image-origin edge --target nginx --into deploy/cdn/nginx.conf` prints the filled file.
 */
import { nginxHeaders, nginxMaps } from './nginx.js';
import type { EdgeRules } from './rules.js';
import { vclSubroutines } from './vcl.js';
import type { EdgeTarget } from './generate.js';

/** The parts a recipe of this target may hold. */
function parts(target: EdgeTarget, rules: EdgeRules): Record<string, string> | undefined {
  if (target === 'nginx') return { maps: nginxMaps(rules), headers: nginxHeaders() };
  if (target === 'varnish-vcl') return { subroutines: vclSubroutines(rules, 'varnish') };
  if (target === 'fastly-vcl') return { subroutines: vclSubroutines(rules, 'fastly') };
  return undefined;
}

export function fillRecipe(recipe: string, target: EdgeTarget, rules: EdgeRules): string {
  const generated = parts(target, rules);
  if (generated === undefined) throw new Error(`--into works for nginx, varnish-vcl and fastly-vcl; ${target} is generated whole`);
  let filled = 0;
  const text = recipe.replace(/^([ \t]*)# BEGIN image-origin edge (\S+)(.*)\n[\s\S]*?^[ \t]*# END image-origin edge \2\n/gm, (_whole: string, indent: string, part: string, rest: string) => {
    const body = generated[part];
    if (body === undefined) throw new Error(`unknown generated part "${part}" for ${target} (${Object.keys(generated).join(', ')})`);
    filled++;
    return `${indent}# BEGIN image-origin edge ${part}${rest}\n${body.replace(/\n*$/, '\n')}${indent}# END image-origin edge ${part}\n`;
  });
  if (filled === 0) throw new Error('the file has no "# BEGIN image-origin edge <part>" … "# END image-origin edge <part>" lines');
  return text;
}
