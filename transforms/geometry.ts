/**
 * Rectangles on an image and where they land: anchoring a box at a compass point, and following a
 * region through a mirror or a quarter turn. Pure arithmetic, shared by the plan (crops) and the
 * watermark step (placing the mark).
 */
import type { Gravity, QuarterTurn } from './params.js';

export interface Size {
  readonly width: number;
  readonly height: number;
}

export interface Region extends Size {
  readonly left: number;
  readonly top: number;
}

/** Top-left corner of a `box` anchored at `gravity` on an image of `size`, `margin` pixels in from the anchored edges. */
export function anchor(gravity: Gravity, size: Size, box: Size, margin: { readonly x: number; readonly y: number }) {
  const x = gravity.endsWith('w') ? margin.x : gravity.endsWith('e') ? size.width - box.width - margin.x : Math.round((size.width - box.width) / 2);
  const y = gravity.startsWith('n') ? margin.y : gravity.startsWith('s') ? size.height - box.height - margin.y : Math.round((size.height - box.height) / 2);
  return { left: Math.max(0, x), top: Math.max(0, y) };
}

/** Rounds both sides, after shrinking them by one factor if either passes `max`, so the aspect ratio holds. */
export function fitWithin(width: number, height: number, max: number): Size {
  const factor = Math.min(1, max / width, max / height);
  return { width: Math.max(1, Math.round(width * factor)), height: Math.max(1, Math.round(height * factor)) };
}

/** Where a region of a `size` image lands after mirroring that image. */
export function mirrorRegion(region: Region, size: Size, leftRight: boolean, topBottom: boolean): Region {
  return {
    ...region,
    left: leftRight ? size.width - region.left - region.width : region.left,
    top: topBottom ? size.height - region.top - region.height : region.top,
  };
}

/** Where a region of a `size` image lands after rotating that image clockwise. */
export function rotateRegion(region: Region, size: Size, rotate: QuarterTurn): Region {
  const { left, top, width, height } = region;
  switch (rotate) {
    case 0:
      return region;
    case 90:
      return { left: size.height - top - height, top: left, width: height, height: width };
    case 180:
      return { left: size.width - left - width, top: size.height - top - height, width, height };
    case 270:
      return { left: top, top: size.width - left - width, width: height, height: width };
  }
}

/** The canvas that holds a `size` image turned by `degrees`: its bounding box, as libvips makes it. */
export function turnedCanvas(size: Size, degrees: number): Size {
  const radians = (degrees * Math.PI) / 180;
  const [cos, sin] = [Math.abs(Math.cos(radians)), Math.abs(Math.sin(radians))];
  return { width: Math.round(size.width * cos + size.height * sin), height: Math.round(size.width * sin + size.height * cos) };
}
