/**
 * Expands `?preset=<name>` into the parameters the spec parser sees: the preset's own, with the
 * request's overrides on top where the preset allows them. In presets-only mode a request without
 * a preset is refused, so nobody can make the origin produce arbitrary variants.
 */
import { InvalidRequestError, type Problem } from '../transforms/errors.js';
import { UnknownPresetError } from './errors.js';
import type { Preset, PresetRegistry } from './preset-registry.js';

export interface AppliedPreset {
  readonly params: URLSearchParams;
  readonly preset?: Preset;
}

export function applyPreset(query: URLSearchParams, registry: PresetRegistry, presetsOnly: boolean): AppliedPreset {
  const names = query.getAll('preset');
  if (names.length === 0) {
    if (presetsOnly) {
      throw new InvalidRequestError([{ param: 'preset', message: 'required: this origin serves presets only' }], 'PRESET_REQUIRED');
    }
    return { params: query };
  }
  if (names.length > 1) throw new InvalidRequestError([{ param: 'preset', message: 'given more than once' }]);
  const name = names[0] ?? '';
  const preset = registry.get(name);
  if (!preset) throw new UnknownPresetError(name);

  const params = new URLSearchParams([...preset.params]);
  const problems: Problem[] = [];
  const allowed = preset.overridable.size > 0 ? [...preset.overridable].join(', ') : 'none';
  for (const [name, value] of query) {
    if (name === 'preset') continue;
    if (!preset.overridable.has(name)) {
      problems.push({ param: name, message: `not allowed with preset "${preset.name}" (overridable: ${allowed})` });
    } else if (query.getAll(name).length > 1) {
      problems.push({ param: name, message: 'given more than once' });
    } else {
      params.set(name, value);
    }
  }
  if (problems.length > 0) throw new InvalidRequestError([...new Map(problems.map((p) => [p.param, p])).values()]);
  return { params, preset };
}
