/**
 * The cost model the quality choices are made by (README: "Cost model"): a variant costs its
 * encode CPU plus its bytes times the deliveries a CDN makes of it.
 */
/** $ per vCPU-second (≈ $0.045 per vCPU-hour). */
export const CPU_DOLLARS_PER_SECOND = 0.0000125;
/** $ per byte of CDN egress ($0.085 per GB). */
export const EGRESS_DOLLARS_PER_BYTE = 0.085 / 1e9;
/** Deliveries of one variant from the CDN, by default. */
export const DELIVERIES_PER_VARIANT = 1000;

/** Dollars one variant costs: made once, delivered `deliveries` times. */
export function variantCost(cpuSeconds: number, bytes: number, deliveries = DELIVERIES_PER_VARIANT): number {
  return cpuSeconds * CPU_DOLLARS_PER_SECOND + bytes * deliveries * EGRESS_DOLLARS_PER_BYTE;
}

/** CPU-seconds worth one byte saved per variant (≈ 0.0068 s: 6.8 s per KB). */
export const CPU_SECONDS_PER_BYTE = (DELIVERIES_PER_VARIANT * EGRESS_DOLLARS_PER_BYTE) / CPU_DOLLARS_PER_SECOND;
