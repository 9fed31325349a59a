/**
 * SSIMULACRA 2.1 (Jon Sneyers, Cloudinary, 2022–2023), written from the published algorithm: a
 * perceptual score of a distorted image against its reference, 0–100 (90 ≈ visually lossless,
 * 80 high, 70 medium, 50 low quality; it can go negative for very bad images).
 *
 * Both images are converted from 8-bit sRGB to linear RGB, then to XYB (the opsin absorbance
 * matrix, bias and cube root of JPEG XL), rescaled so every component is positive and roughly
 * 0..1 with B replaced by B−Y. At 6 scales (each a 2×2 box downscale in linear RGB of the
 * previous one) three error maps are made per component: 1 − SSIM without the luminance
 * denominator (Gaussian windows, sigma 1.5), "artifact" (edges the distorted image has and the
 * reference lacks: ringing, blocking, banding) and "detail lost" (the reverse: blur, smearing).
 * Their 1-norms and 4-norms (108 numbers) are weighted with the published weights and mapped to
 * the score by the published polynomial and power.
 *
 * Pure functions on raw interleaved RGB buffers; decoding (sharp) is the caller's business.
 * Floats are stored as Float32Array (as the reference does) and summed in doubles.
 */

/** Interleaved 8-bit sRGB, 3 bytes per pixel, row-major, no padding. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Three planes of one image (linear RGB or XYB). */
interface Planes {
  readonly width: number;
  readonly height: number;
  readonly p: readonly [Float32Array, Float32Array, Float32Array];
}

const NUM_SCALES = 6;
/** SSIM's C2 with values in 0..1. */
const C2 = 0.0009;

/** sRGB transfer function, decoded once per 8-bit code. */
const SRGB_TO_LINEAR = Float32Array.from({ length: 256 }, (_, i) => {
  const v = i / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
});

/** JPEG XL's opsin absorbance matrix (rows sum to 1) and bias. */
const OPSIN = [
  [0.3, 0.622, 0.078],
  [0.23, 0.692, 0.078],
  [0.24342268924547819, 0.20476744424496821, 1 - 0.24342268924547819 - 0.20476744424496821],
] as const;
const OPSIN_BIAS = 0.0037930732552754493;
const CBRT_BIAS = Math.cbrt(OPSIN_BIAS);

/**
 * The 108 weights, in the order the sub-scores are visited: component (X, Y, B), scale (1:1 …
 * 1:32), norm (1, 4), then map (SSIM, artifact, detail lost).
 */
// prettier-ignore
const WEIGHTS: readonly number[] = [
  0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0, 0.0, 0.0004371155730107379, 0.0,
  1.1041726426657346, 0.00066284834129271, 0.00015231632783718752, 0.0, 0.0016406437456599754, 0.0,
  1.8422455520539298, 11.441172603757666, 0.0, 0.0007989109436015163, 0.000176816438078653, 0.0,
  1.8787594979546387, 10.94906990605142, 0.0, 0.0007289346991508072, 0.9677937080626833, 0.0,
  0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053, 0.0004550992113792063, 0.0, 0.0,
  0.0013648766163243398, 0.0, 0.0, 0.0, 0.0, 0.0, 7.466890328078848, 0.0, 17.445833984131262,
  0.0006235601634041466, 0.0, 0.0, 6.683678146179332, 0.00037724407979611296, 1.027889937768264,
  225.20515300849274, 0.0, 0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985,
  176.39317598450694, 0.0, 0.0, 24.43300999870476, 0.28520802612117757, 0.0004485436923833408, 0.0, 0.0,
  0.0, 34.77906344483772, 44.835625328877896, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
  0.0008680556573291698, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0005313191874358747, 0.0, 0.00016533814161379112,
  0.0, 0.0, 0.0, 0.0, 0.0, 0.0004179171803251336, 0.0017290828234722833, 0.0, 0.0020827005846636437,
  0.0, 0.0, 8.826982764996862, 23.19243343998926, 0.0, 95.1080498811086, 0.9863978034400682,
  0.9834382792465353, 0.0012286405048278493, 171.2667255897307, 0.9807858872435379, 0.0, 0.0, 0.0,
  0.0005130064588990679, 0.0, 0.00010854057858411537,
];

/** Norms of one scale: SSIM [c*2 + n], edge maps [c*4 + n] (artifact) and [c*4 + 2 + n] (detail lost). */
interface ScaleNorms {
  readonly ssim: Float64Array;
  readonly edge: Float64Array;
}

/** A reference image measured once, to score many distorted candidates against (autoquality). */
export interface PreparedReference {
  readonly width: number;
  readonly height: number;
  /** Per scale: the positive XYB planes, their blur (mu) and the blur of their squares. */
  readonly scales: readonly { readonly xyb: Planes; readonly mu: Planes; readonly sigma: Planes }[];
}

/**
 * The SSIMULACRA2 score of `distorted` against `reference` (same size, 8-bit sRGB RGB).
 * Images smaller than 8 pixels a side have no scale to measure and score 100.
 */
export function ssimulacra2(reference: RgbImage, distorted: RgbImage): number {
  return ssimulacra2Prepared(prepareReference(reference), distorted);
}

export function prepareReference(reference: RgbImage): PreparedReference {
  assertRgb(reference);
  const scales = linearScales(toLinear(reference)).map((linear) => {
    const xyb = toPositiveXyb(linear);
    return { xyb, mu: blurPlanes(BLUR, xyb), sigma: blurPlanes(BLUR, xyb, xyb) };
  });
  return { width: reference.width, height: reference.height, scales };
}

export function ssimulacra2Prepared(reference: PreparedReference, distorted: RgbImage): number {
  assertRgb(distorted);
  if (reference.width !== distorted.width || reference.height !== distorted.height) {
    throw new RangeError(`images differ in size: ${reference.width}×${reference.height} vs ${distorted.width}×${distorted.height}`);
  }
  const norms = linearScales(toLinear(distorted)).map((linear, scale): ScaleNorms => {
    const ref = reference.scales[scale]!;
    const xyb = toPositiveXyb(linear);
    const mu = blurPlanes(BLUR, xyb);
    const sigma22 = blurPlanes(BLUR, xyb, xyb);
    const sigma12 = blurPlanes(BLUR, ref.xyb, xyb);
    return { ssim: ssimNorms(ref.mu, mu, ref.sigma, sigma22, sigma12), edge: edgeNorms(ref.xyb, ref.mu, xyb, mu) };
  });
  return scoreFromNorms(norms);
}

function assertRgb(image: RgbImage): void {
  if (image.data.length !== image.width * image.height * 3) throw new RangeError('expected interleaved RGB, 3 bytes per pixel');
}

/**
 * Linear RGB at each scale, each a 2×2 box downscale of the one before. The reference checks the
 * size before downscaling, so the scale after the first one below 8 px a side is where it stops.
 */
function linearScales(full: Planes): Planes[] {
  const scales: Planes[] = [];
  let current = full;
  for (let scale = 0; scale < NUM_SCALES; scale++) {
    if (current.width < 8 || current.height < 8) break;
    if (scale > 0) current = downsample(current);
    scales.push(current);
  }
  return scales;
}

/**
 * The weighted sum of the norms mapped to 0–100. As in the reference, weights are taken in visiting
 * order, so an image with fewer than 6 scales uses the first weights of each run.
 */
function scoreFromNorms(scales: readonly ScaleNorms[]): number {
  let sum = 0;
  let i = 0;
  for (let c = 0; c < 3; c++) {
    for (const { ssim, edge } of scales) {
      for (let n = 0; n < 2; n++) {
        sum += WEIGHTS[i++]! * Math.abs(ssim[c * 2 + n]!);
        sum += WEIGHTS[i++]! * Math.abs(edge[c * 4 + n]!);
        sum += WEIGHTS[i++]! * Math.abs(edge[c * 4 + 2 + n]!);
      }
    }
  }
  const s = sum * 0.9562382616834844;
  const mapped = 2.326765642916932 * s - 0.020884521182843837 * s * s + 6.248496625763138e-5 * s * s * s;
  return mapped > 0 ? 100 - 10 * mapped ** 0.6276336467831387 : 100;
}

function toLinear(image: RgbImage): Planes {
  const size = image.width * image.height;
  const r = new Float32Array(size);
  const g = new Float32Array(size);
  const b = new Float32Array(size);
  const d = image.data;
  for (let i = 0, j = 0; i < size; i++, j += 3) {
    r[i] = SRGB_TO_LINEAR[d[j]!]!;
    g[i] = SRGB_TO_LINEAR[d[j + 1]!]!;
    b[i] = SRGB_TO_LINEAR[d[j + 2]!]!;
  }
  return { width: image.width, height: image.height, p: [r, g, b] };
}

/** 2×2 box average; the last column/row repeats when a side is odd. */
function downsample(input: Planes): Planes {
  const { width, height } = input;
  const w = Math.ceil(width / 2);
  const h = Math.ceil(height / 2);
  const planes = input.p.map((src) => {
    const out = new Float32Array(w * h);
    for (let oy = 0; oy < h; oy++) {
      const y0 = 2 * oy;
      const y1 = Math.min(y0 + 1, height - 1);
      for (let ox = 0; ox < w; ox++) {
        const x0 = 2 * ox;
        const x1 = Math.min(x0 + 1, width - 1);
        out[oy * w + ox] = (src[y0 * width + x0]! + src[y0 * width + x1]! + src[y1 * width + x0]! + src[y1 * width + x1]!) * 0.25;
      }
    }
    return out;
  });
  return { width: w, height: h, p: planes as [Float32Array, Float32Array, Float32Array] };
}

/** Linear RGB → XYB → SSIMULACRA2's positive rescaling (X·14 + 0.42, Y + 0.01, B − Y + 0.55). */
function toPositiveXyb(linear: Planes): Planes {
  const [r, g, b] = linear.p;
  const size = r.length;
  const x = new Float32Array(size);
  const y = new Float32Array(size);
  const z = new Float32Array(size);
  const [m0, m1, m2] = OPSIN;
  for (let i = 0; i < size; i++) {
    const ri = r[i]!;
    const gi = g[i]!;
    const bi = b[i]!;
    const l = Math.cbrt(Math.max(0, m0[0] * ri + m0[1] * gi + m0[2] * bi + OPSIN_BIAS)) - CBRT_BIAS;
    const m = Math.cbrt(Math.max(0, m1[0] * ri + m1[1] * gi + m1[2] * bi + OPSIN_BIAS)) - CBRT_BIAS;
    const s = Math.cbrt(Math.max(0, m2[0] * ri + m2[1] * gi + m2[2] * bi + OPSIN_BIAS)) - CBRT_BIAS;
    const xv = 0.5 * (l - m);
    const yv = 0.5 * (l + m);
    x[i] = xv * 14 + 0.42;
    y[i] = yv + 0.01;
    z[i] = s - yv + 0.55;
  }
  return { width: linear.width, height: linear.height, p: [x, y, z] };
}

function ssimNorms(mu1: Planes, mu2: Planes, s11: Planes, s22: Planes, s12: Planes): Float64Array {
  const norms = new Float64Array(6);
  const perPixel = 1 / (mu1.width * mu1.height);
  for (let c = 0; c < 3; c++) {
    const m1 = mu1.p[c]!;
    const m2 = mu2.p[c]!;
    const a11 = s11.p[c]!;
    const a22 = s22.p[c]!;
    const a12 = s12.p[c]!;
    let sum1 = 0;
    let sum4 = 0;
    for (let i = 0; i < m1.length; i++) {
      const u1 = m1[i]!;
      const u2 = m2[i]!;
      // No luminance denominator: the values are already perceptual, so errors in the darks
      // should not weigh more than in the brights.
      const numM = 1 - (u1 - u2) * (u1 - u2);
      const numS = 2 * (a12[i]! - u1 * u2) + C2;
      const denS = a11[i]! - u1 * u1 + (a22[i]! - u2 * u2) + C2;
      const d = Math.max(0, 1 - (numM * numS) / denS);
      sum1 += d;
      sum4 += d * d * d * d;
    }
    norms[c * 2] = perPixel * sum1;
    norms[c * 2 + 1] = Math.sqrt(Math.sqrt(perPixel * sum4));
  }
  return norms;
}

function edgeNorms(img1: Planes, mu1: Planes, img2: Planes, mu2: Planes): Float64Array {
  const norms = new Float64Array(12);
  const perPixel = 1 / (img1.width * img1.height);
  for (let c = 0; c < 3; c++) {
    const i1 = img1.p[c]!;
    const i2 = img2.p[c]!;
    const m1 = mu1.p[c]!;
    const m2 = mu2.p[c]!;
    let artifact1 = 0;
    let artifact4 = 0;
    let lost1 = 0;
    let lost4 = 0;
    for (let i = 0; i < i1.length; i++) {
      const d = (1 + Math.abs(i2[i]! - m2[i]!)) / (1 + Math.abs(i1[i]! - m1[i]!)) - 1;
      if (d > 0) {
        artifact1 += d;
        artifact4 += d * d * d * d;
      } else {
        lost1 -= d;
        lost4 += d * d * d * d;
      }
    }
    norms[c * 4] = perPixel * artifact1;
    norms[c * 4 + 1] = Math.sqrt(Math.sqrt(perPixel * artifact4));
    norms[c * 4 + 2] = perPixel * lost1;
    norms[c * 4 + 3] = Math.sqrt(Math.sqrt(perPixel * lost4));
  }
  return norms;
}

/**
 * The recursive Gaussian of Charalampidis (2016, "Recursive implementation of the Gaussian filter
 * using truncated cosine functions"), as the reference blurs: three second-order resonators fed
 * with in[n−N−1] + in[n+N−1], which together respond like a Gaussian truncated at ±N; outside the
 * image the signal is zero (the reference's border rule, which darkens the blurred border).
 */
interface Blur {
  readonly radius: number;
  /** Input gain per resonator. */
  readonly n2: readonly [number, number, number];
  /** Feedback per resonator (the −2 cos ω term). */
  readonly d1: readonly [number, number, number];
}

function createBlur(sigma: number): Blur {
  const radius = Math.round(3.2795 * sigma + 0.2546);
  const base = Math.PI / (2 * radius);
  const omega = [base, 3 * base, 5 * base] as const;
  const p1 = 1 / Math.tan(0.5 * omega[0]);
  const p3 = -1 / Math.tan(0.5 * omega[1]);
  const p5 = 1 / Math.tan(0.5 * omega[2]);
  const r1 = (p1 * p1) / Math.sin(omega[0]);
  const r3 = (-p3 * p3) / Math.sin(omega[1]);
  const r5 = (p5 * p5) / Math.sin(omega[2]);
  const rho = omega.map((w) => Math.exp(-0.5 * sigma * sigma * w * w) / radius) as [number, number, number];
  const d13 = p1 * r3 - r1 * p3;
  const d35 = p3 * r5 - r3 * p5;
  const d51 = p5 * r1 - r5 * p1;
  const zeta15 = d35 / d13;
  const zeta35 = d51 / d13;
  // beta solves [p; r; zeta] · beta = gamma (normalisation, variance, and the ω5 residual).
  const beta = solve3(
    [
      [p1, p3, p5],
      [r1, r3, r5],
      [zeta15, zeta35, 1],
    ],
    [1, radius * radius - sigma * sigma, zeta15 * rho[0] + zeta35 * rho[1] + rho[2]],
  );
  const n2 = omega.map((w, k) => -beta[k]! * Math.cos(w * (radius + 1))) as [number, number, number];
  const d1 = omega.map((w) => -2 * Math.cos(w)) as [number, number, number];
  return { radius, n2, d1 };
}

const BLUR = createBlur(1.5);

/** Solves a 3×3 linear system by Cramer's rule (well conditioned here). */
function solve3(a: readonly (readonly [number, number, number])[], b: readonly [number, number, number]): [number, number, number] {
  const det = (m: readonly (readonly number[])[]) =>
    m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) -
    m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) +
    m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!);
  const d = det(a);
  const column = (k: number) => det(a.map((row, i) => row.map((v, j) => (j === k ? b[i]! : v))));
  return [column(0) / d, column(1) / d, column(2) / d];
}

/** Blurs each plane of `a`, or of the product a·b when `b` is given (the second moments). */
function blurPlanes(blur: Blur, a: Planes, b?: Planes): Planes {
  const size = a.width * a.height;
  const temp = new Float32Array(size);
  const product = b ? new Float32Array(size) : undefined;
  const planes = a.p.map((plane, c) => {
    let input = plane;
    if (product && b) {
      const other = b.p[c]!;
      for (let i = 0; i < size; i++) product[i] = plane[i]! * other[i]!;
      input = product;
    }
    const out = new Float32Array(size);
    // Each pass blurs rows and writes them transposed, so the second pass blurs the columns.
    blurRowsTransposed(blur, input, a.width, a.height, temp);
    blurRowsTransposed(blur, temp, a.height, a.width, out);
    return out;
  });
  return { width: a.width, height: a.height, p: planes as [Float32Array, Float32Array, Float32Array] };
}

/** Blurs each row of a width×height image into column `y` of the height×width `out`. */
function blurRowsTransposed(blur: Blur, input: Float32Array, width: number, height: number, out: Float32Array): void {
  const N = blur.radius;
  const [n2a, n2b, n2c] = blur.n2;
  const [d1a, d1b, d1c] = blur.d1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let pa = 0, pb = 0, pc = 0, qa = 0, qb = 0, qc = 0; // previous and the one before, per resonator
    for (let n = -N + 1; n < width; n++) {
      const left = n - N - 1;
      const right = n + N - 1;
      const sum = (left >= 0 ? input[row + left]! : 0) + (right < width ? input[row + right]! : 0);
      const a = n2a * sum - d1a * pa - qa;
      const b = n2b * sum - d1b * pb - qb;
      const c = n2c * sum - d1c * pc - qc;
      qa = pa; qb = pb; qc = pc;
      pa = a; pb = b; pc = c;
      if (n >= 0) out[n * height + y] = a + b + c;
    }
  }
}
