/**
 * sharp, loaded through CommonJS. sharp 0.35's ESM build imports semver, detect-libc and
 * @img/colour, which are CommonJS, and Node then lexes each for its named exports before running
 * it: `await import('sharp')` took 240–350 ms of a process's start against 170–240 ms for
 * `require('sharp')` (five runs each, 2-core VM, 2026-12-01). Every module of the origin takes
 * sharp from here, so a process loads it once, the fast way. The shipped bundle replaces this
 * module with a plain `require`, so that sharp's JavaScript is bundled too (origin/startup/bundle.ts).
 */
import { createRequire } from 'node:module';
import type SharpConstructor from 'sharp';

export const sharp: typeof SharpConstructor = createRequire(import.meta.url)('sharp');
