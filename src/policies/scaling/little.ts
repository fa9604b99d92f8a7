/**
 * Little's-law sizing. With arrival rate λ and mean service time E[S], the mean number of busy agents
 * is R = λ·E[S]; to keep utilization at ρ the pool needs R / ρ agents.
 */

/**
 * Agents needed to serve `arrivalRatePerS` with mean service `meanServiceS` at `targetUtilization`
 * (fractional; callers round up). Returns 0 for zero demand.
 *
 * @example
 * ```ts
 * littleAgents(2, 20, 0.75); // 53.33… → 54 agents after Math.ceil
 * ```
 */
export function littleAgents(
  arrivalRatePerS: number,
  meanServiceS: number,
  targetUtilization: number,
): number {
  if (!(arrivalRatePerS > 0) || !(meanServiceS > 0)) return 0;
  const rho = targetUtilization > 0 ? Math.min(1, targetUtilization) : 1;
  return (arrivalRatePerS * meanServiceS) / rho;
}

/** {@link littleAgents} rounded up (a tiny epsilon keeps 3.0000000001 from becoming 4). */
export function littleTarget(
  arrivalRatePerS: number,
  meanServiceS: number,
  targetUtilization: number,
): number {
  // max(0, …) also turns the -0 that ceil(-1e-9) gives into 0.
  return Math.max(0, Math.ceil(littleAgents(arrivalRatePerS, meanServiceS, targetUtilization) - 1e-9));
}

/**
 * Square-root staffing: N = R + β·√R with R = λ·E[S] (Halfin–Whitt). β ≈ 1 gives a small probability
 * of waiting at large R; offered as an alternative sizing rule.
 */
export function sqrtStaffing(arrivalRatePerS: number, meanServiceS: number, beta = 1): number {
  const r = Math.max(0, arrivalRatePerS * meanServiceS);
  return Math.max(0, Math.ceil(r + beta * Math.sqrt(r) - 1e-9));
}
