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

/**
 * The scaler's sizing rule: the larger of Little's law at `targetUtilization` (R / ρ) and square-root
 * staffing (R + β·√R), fractional (callers round up). R = λ·E[S] is the mean number of busy agents.
 *
 * Why both: R / ρ keeps a fixed *share* of the pool spare, which is too little for a small pool — at
 * R = 10 and ρ = 0.75 an M/M/c pool makes a quarter of its tasks wait, because the arrivals of a
 * service time fluctuate by ±√R, not by a share of R. R + β·√R (Halfin–Whitt) keeps the probability of
 * waiting roughly constant at any size (β = 2.5: ~1 % in M/M/c). For large pools (R > 9β² at ρ = 0.75)
 * Little's law is the larger and keeps utilization at most ρ. β = 0 is Little's law alone.
 *
 * `stationaryRatePerS` (default: the same rate) is the part of the rate that is steady: the √R margin
 * is for the Poisson bunching of steady arrivals. Demand that swings faster than a pool can follow (a
 * square wave of minutes) is sized for its high phase by Little's law, and its swing is not given the
 * margin on top (measured: a ±30 % square wave was held at the pool max by it, where 49 agents serve it
 * with a p99 wait of 0.27 s).
 *
 * @example
 * ```ts
 * staffedAgents(0.5, 20, 0.75, 2.5); // R = 10: max(13.3, 17.9) = 17.9 → 18 agents
 * staffedAgents(2, 20, 0.75, 2.5);   // R = 40: max(53.3, 55.8) = 55.8 → 56 agents
 * ```
 */
export function staffedAgents(
  arrivalRatePerS: number,
  meanServiceS: number,
  targetUtilization: number,
  beta: number,
  stationaryRatePerS: number = arrivalRatePerS,
): number {
  const little = littleAgents(arrivalRatePerS, meanServiceS, targetUtilization);
  if (!(beta > 0) || !(meanServiceS > 0)) return little;
  const r = Math.max(0, Math.min(arrivalRatePerS, stationaryRatePerS)) * meanServiceS;
  if (!(r > 0)) return little;
  return Math.max(little, r + beta * Math.sqrt(r));
}
