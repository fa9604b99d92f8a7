/**
 * Closed-form queueing results used to check the simulator and to put the benchmark's numbers
 * next to theory. Service rate μ = 1 throughout (times are in mean-service-time units); ρ is the
 * load per server.
 */

/** M/M/1 mean time in system: 1 / (1 − ρ). Random dispatch to n identical servers is n × M/M/1. */
export function mm1TimeInSystem(rho: number): number {
  return 1 / (1 - rho);
}

/** M/M/1 p-quantile of the wait: P(W > t) = ρ e^{−(1−ρ)t}, so t = ln(ρ / (1 − p)) / (1 − ρ), 0 if ρ ≤ 1 − p. */
export function mm1WaitQuantile(rho: number, p: number): number {
  return rho <= 1 - p ? 0 : Math.log(rho / (1 - p)) / (1 - rho);
}

/**
 * Root σ in (0, 1) of the GI/M/1 equation σ = A*(1 − σ) for Erlang-k inter-arrival times with
 * per-server rate ρ (μ = 1): A*(s) = (kρ / (kρ + s))^k. Solved by fixed-point iteration, which
 * converges monotonically from 0 for ρ < 1.
 */
export function erlangArrivalSigma(k: number, rho: number): number {
  let sigma = 0;
  for (let i = 0; i < 100_000; i++) {
    const next = ((k * rho) / (k * rho + 1 - sigma)) ** k;
    if (Math.abs(next - sigma) < 1e-13) return next;
    sigma = next;
  }
  return sigma;
}

/**
 * Round robin over n identical servers with Poisson arrivals: each server sees every n-th arrival,
 * i.e. Erlang-n inter-arrival times — an E_n/M/1 queue. Mean time in system 1 / (1 − σ).
 */
export function roundRobinTimeInSystem(n: number, rho: number): number {
  return 1 / (1 - erlangArrivalSigma(n, rho));
}

/** E_n/M/1 p-quantile of the wait: P(W > t) = σ e^{−(1−σ)t}. */
export function roundRobinWaitQuantile(n: number, rho: number, p: number): number {
  const s = erlangArrivalSigma(n, rho);
  return s <= 1 - p ? 0 : Math.log(s / (1 - p)) / (1 - s);
}

/**
 * Supermarket model, d choices, in the limit of many servers (Mitzenmacher 2001; Vvedenskaya et
 * al. 1996): mean time in system Σ_{i≥1} ρ^{(d^i − d)/(d − 1)}. For d = 1 it is M/M/1.
 */
export function supermarketTimeInSystem(rho: number, d: number): number {
  if (d === 1) return mm1TimeInSystem(rho);
  let sum = 0;
  for (let i = 1; i < 64; i++) {
    const term = rho ** ((d ** i - d) / (d - 1));
    sum += term;
    if (term < 1e-15) break;
  }
  return sum;
}

/** Erlang C: probability that an arrival waits in M/M/c with offered load a = cρ. */
export function erlangC(c: number, rho: number): number {
  const a = c * rho;
  // Erlang B by the stable recurrence, then C = B / (1 − ρ(1 − B)).
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  return b / (1 - rho * (1 - b));
}

/**
 * M/M/c mean time in system: 1 + C(c, a) / (c(1 − ρ)). A central queue feeding c servers is a lower
 * bound for any dispatch-on-arrival policy such as join-the-shortest-queue.
 */
export function mmcTimeInSystem(c: number, rho: number): number {
  return 1 + erlangC(c, rho) / (c * (1 - rho));
}
