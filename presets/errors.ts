/** The preset layer's one HTTP-mapped error: a request named a preset the file does not define. */
import { OriginError } from '../transforms/errors.js';

export class UnknownPresetError extends OriginError {
  readonly status = 404;
  readonly code = 'UNKNOWN_PRESET';
  constructor(name: string) {
    super(`unknown preset "${name}"`);
  }
}
