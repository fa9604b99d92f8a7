/**
 * Logging. pino, quiet by default (level `silent`) so embedding agentpool prints nothing unless asked;
 * set `AGENTPOOL_LOG=debug` or pass your own logger.
 */
import { pino } from 'pino';

/** The subset of a pino logger agentpool uses; any pino logger (or child) fits. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * Create the default logger.
 * @param level pino level. @default process.env.AGENTPOOL_LOG ?? 'silent'
 */
export function createLogger(level: string = process.env.AGENTPOOL_LOG ?? 'silent'): Logger {
  return pino({ name: 'agentpool', level });
}
