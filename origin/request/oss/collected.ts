/**
 * What the operations of one OSS URL asked for, gathered before anything is written. Each
 * operation reader fills its own part, `order.ts` judges the whole (order and combinations) and
 * `write-params.ts` writes it as native parameters: one shape between them keeps the operation
 * readers independent of each other and of the native grammar's spelling.
 */
import type { Fit, Gravity, OutputFormat, Rotation } from '../../../transforms/params.js';
import type { Watermark } from '../../../transforms/watermark.js';
import type { Problems } from './grammar.js';

export type OpName =
  | 'resize' | 'crop' | 'indexcrop' | 'circle' | 'rounded-corners' | 'rotate' | 'auto-orient' | 'quality' | 'format'
  | 'interlace' | 'blur' | 'bright' | 'contrast' | 'sharpen' | 'watermark' | 'info' | 'average-hue';

export interface Collected {
  resize?: { width?: number; height?: number; fit?: Fit; background?: string; enlarge: boolean; scale?: number; centres: boolean };
  crop?: { x: number; y: number; width: number; height: number; gravity: Gravity };
  indexCrop?: { axis: 'x' | 'y'; size: number; index: number };
  circle?: number;
  round?: number;
  rotate?: Rotation;
  quality?: number;
  format?: OutputFormat;
  blur?: number;
  sharpen?: string;
  bright?: number;
  contrast?: number;
  /** In URL order; OSS allows up to three per request. */
  watermarks?: Watermark[];
}

/** Reads one operation's arguments into `c`; whatever it cannot translate exactly goes to `problems`. */
export type OperationReader = (args: readonly string[], c: Collected, problems: Problems) => void;
