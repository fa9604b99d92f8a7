/**
 * Progress on stderr for commands that take more than a couple of seconds: one line rewritten in
 * place (`label 3/10 · 12 s · ETA 28 s`), or elapsed seconds when the amount of work is unknown.
 * Drawn only when stderr is a terminal and the output is not `--json`, so pipes, CI logs and JSON
 * consumers see nothing; the line is erased when the work ends.
 */

/** What the progress line is drawn on. */
export interface ProgressStream {
  write(text: string): unknown;
  /** Only a terminal gets a progress line. */
  isTTY?: boolean;
}

/** A running progress line. */
export interface Progress {
  /** `done` of `total` units finished. */
  update(done: number, total: number): void;
  /** Erase the line and stop the clock. Idempotent. */
  stop(): void;
}

const NONE: Progress = { update: () => {}, stop: () => {} };

/** Seconds, rounded for a human. */
function secs(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/**
 * Start a progress line labelled `label` on `stream`, or a no-op when `enabled` is false or the stream
 * is not a TTY. Until the first {@link Progress.update} it shows elapsed time, redrawn every second.
 *
 * @example
 * ```ts
 * const p = startProgress('bench acquire', process.stderr, !json);
 * try { await runAcquireBench({ onProgress: p.update }); } finally { p.stop(); }
 * ```
 */
export function startProgress(label: string, stream: ProgressStream, enabled: boolean): Progress {
  if (!enabled || stream.isTTY !== true) return NONE;
  const t0 = performance.now();
  let done = 0;
  let total = 0;
  let stopped = false;
  let drawnAt = -Infinity;
  const draw = () => {
    drawnAt = performance.now();
    const elapsed = performance.now() - t0;
    let text = `${label} · ${secs(elapsed)}`;
    if (total > 0) {
      const eta = done > 0 ? (elapsed / done) * (total - done) : undefined;
      text = `${label} ${done}/${total} · ${secs(elapsed)}${eta !== undefined && done < total ? ` · ETA ${secs(eta)}` : ''}`;
    }
    stream.write(`\r\x1b[2K${text}`);
  };
  // A CLI-side timer: the runtime's clock is not involved (this only draws).
  const timer = setInterval(draw, 1_000);
  timer.unref();
  draw();
  return {
    update(d, t) {
      if (stopped) return;
      const first = total === 0;
      done = d;
      total = t;
      // Callers may report thousands of times a second: redraw at most every 100 ms, plus the first
      // report (the counter appears at once) and the last.
      if (first || d >= t || performance.now() - drawnAt >= 100) draw();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write('\r\x1b[2K');
    },
  };
}
