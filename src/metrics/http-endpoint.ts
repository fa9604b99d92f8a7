/**
 * An optional HTTP endpoint serving the Prometheus text exposition of anything with `metricsText()`
 * (an `AgentPoolSystem`, or your own aggregate).
 *
 * Deliberately tiny: `node:http` only, no framework and no dependency, one path, GET/HEAD. It is not
 * started by the system — embedders that already run an HTTP server should mount
 * `system.metricsText()` on it instead; this is for processes that have none.
 */
import { Buffer } from 'node:buffer';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentPoolError, InvalidArgumentError } from '../core/errors.js';
import { invalid, knownKeys, num, record, str } from '../core/validate.js';

/** What {@link serveMetrics} serves: anything that renders Prometheus text, e.g. an `AgentPoolSystem`. */
export interface MetricsSource {
  /** Prometheus text exposition (format 0.0.4). Called once per scrape; may throw (the scrape gets a 500). */
  metricsText(): string;
  /**
   * Optional: register work to run when the source shuts down; returns an unregister function. An
   * `AgentPoolSystem` has it, so `system.shutdown()` also closes an endpoint serving that system.
   */
  onShutdown?(hook: () => Promise<void> | void): () => void;
}

/** Options of {@link serveMetrics}. Unknown keys are errors (`ERR_INVALID_ARGUMENT`). */
export interface ServeMetricsOptions {
  /**
   * TCP port to listen on, an integer in [0, 65535]; `0` picks a free ephemeral port (read it back
   * from {@link MetricsEndpoint.url}).
   *
   * @default 7464 — outside 9100–9999 (the range the Prometheus project allocates to exporters, all of
   * it taken) and not 9464 (OpenTelemetry's Prometheus exporter, which an app embedding agentpool may
   * run too). Set your own in production.
   * @example
   * ```ts
   * await serveMetrics(system, { port: 0 }); // tests: any free port
   * ```
   */
  port?: number;
  /**
   * Interface (address or host name) to bind.
   *
   * @default '127.0.0.1' — loopback only, so metrics (pool names, load, resource use) are never
   * exposed on every interface by accident. Pass `'0.0.0.0'` or `'::'` deliberately, e.g. when
   * Prometheus scrapes from another container or host.
   * @example
   * ```ts
   * await serveMetrics(system, { host: '0.0.0.0' }); // reachable from outside the host: mind your firewall
   * ```
   */
  host?: string;
  /**
   * Path the metrics are served on; must start with `/`. Matched exactly (a query string is ignored);
   * every other path answers 404.
   *
   * @default '/metrics' — what Prometheus scrapes unless told otherwise (`metrics_path`).
   * @example
   * ```ts
   * await serveMetrics(system, { path: '/internal/metrics' });
   * ```
   */
  path?: string;
}

/** A running metrics endpoint, returned by {@link serveMetrics}. */
export interface MetricsEndpoint {
  /**
   * Full URL of the metrics path, with the port actually bound (so `port: 0` is usable), e.g.
   * `http://127.0.0.1:7464/metrics`. IPv6 hosts are bracketed.
   */
  readonly url: string;
  /**
   * Stop listening and drop every open connection, keep-alive ones included, so it never waits on an
   * idle scraper. Idempotent: every call returns the same promise. Afterwards the endpoint holds no
   * handle, so it does not keep the process alive.
   */
  close(): Promise<void>;
}

/** Content type of the Prometheus text format, version 0.0.4 (what `toPrometheus` renders). */
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const DEFAULT_PORT = 7464;
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PATH = '/metrics';
const KEYS: ReadonlySet<string> = new Set(['port', 'host', 'path']);

interface Resolved {
  port: number;
  host: string;
  path: string;
}

function resolveOptions(options: unknown): Resolved {
  if (options === undefined) return { port: DEFAULT_PORT, host: DEFAULT_HOST, path: DEFAULT_PATH };
  const o = record('argument', 'options', options);
  knownKeys('argument', 'options', o, KEYS);
  const port = num('argument', 'options.port', o.port, DEFAULT_PORT, { integer: true, min: 0, max: 65_535 });
  const host = str('argument', 'options.host', o.host, DEFAULT_HOST);
  const path = str('argument', 'options.path', o.path, DEFAULT_PATH);
  // A path without the leading slash would never equal a request's URL: fail now, not on every scrape.
  if (!path.startsWith('/')) invalid('argument', 'options.path', path, "a path starting with '/'");
  return { port, host, path };
}

/** Send a small plain-text answer; `Content-Length` lets keep-alive scrapers reuse the connection. */
function send(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    ...headers,
    'Content-Length': String(Buffer.byteLength(body)),
  });
  // HEAD gets the headers GET would have had, without the body.
  res.end(req.method === 'HEAD' ? undefined : body);
}

function handler(source: MetricsSource, path: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // Anything thrown here would reach the `request` event emitter and crash the process, so the
    // whole handler is guarded: at worst the scrape fails, the process never does.
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      // Compare the path only: people add query strings by hand (`?x=1`) and expect the same page.
      if ((q === -1 ? url : url.slice(0, q)) !== path) {
        send(res, req, 404, 'Not Found\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, req, 405, 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
        return;
      }
      let body: string;
      try {
        body = source.metricsText();
        // A JS source could return anything; `res.end(nonString)` would throw after the headers went out.
        if (typeof body !== 'string') throw new TypeError('metricsText() did not return a string');
      } catch {
        // The message is not echoed: it may carry internals, and the endpoint may be reachable by others.
        send(res, req, 500, 'Internal Server Error: metricsText() failed\n');
        return;
      }
      // no-store: a cached scrape would show stale gauges as if they were current.
      send(res, req, 200, body, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
    } catch {
      // Writing the answer failed (socket gone mid-response): nothing left to tell the client.
      res.destroy();
    }
  };
}

function formatUrl(address: AddressInfo, path: string): string {
  const host =
    address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}${path}`;
}

/**
 * Serve `source.metricsText()` over HTTP for Prometheus to scrape.
 *
 * Answers `GET` and `HEAD` on `options.path` with `Content-Type: text/plain; version=0.0.4; charset=utf-8`,
 * 404 on any other path, 405 (with `Allow: GET, HEAD`) on any other method, and 500 if `metricsText()`
 * throws — a failing source never crashes the process. The text is rendered on every request, so each
 * scrape sees current values; labels stay `pool` and `type` only (see `toPrometheus`), so series
 * count does not grow with traffic.
 *
 * While open it keeps the process alive like any server. Serving an `AgentPoolSystem` (any source with
 * `onShutdown`), it is closed by `system.shutdown()` — no handle is left behind; otherwise call
 * {@link MetricsEndpoint.close}.
 *
 * @param source - anything with `metricsText(): string`, typically an `AgentPoolSystem`.
 * @param options - {@link ServeMetricsOptions}: `port` (default 7464), `host` (default `'127.0.0.1'`),
 * `path` (default `'/metrics'`).
 * @returns a promise of the running {@link MetricsEndpoint}, resolved once the server is listening.
 * Rejects with `ERR_INVALID_ARGUMENT` (an {@link InvalidArgumentError} naming `source`, `options`,
 * `options.port`, `options.host`, `options.path` or an unknown `options.<key>`, and the value received)
 * for bad input, and with an {@link AgentPoolError} of code `ERR_INVALID_ARGUMENT` when the port or
 * host cannot be bound (`EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`…), the system error as `cause` and
 * its code in `details.syscallCode`.
 *
 * @example
 * ```ts
 * import { createAgentPoolSystem, serveMetrics } from 'agentpool';
 *
 * const system = createAgentPoolSystem({ pools: { code: { agent: new URL('./agent.js', import.meta.url) } } });
 * await system.start();
 * const metrics = await serveMetrics(system); // http://127.0.0.1:7464/metrics
 * // … later
 * await system.shutdown({ graceful: true }); // also closes the endpoint (or call metrics.close())
 * ```
 */
export async function serveMetrics(
  source: MetricsSource,
  options?: ServeMetricsOptions,
): Promise<MetricsEndpoint> {
  // Validate before binding anything, so bad input never leaves a half-open server behind.
  if (
    source === null ||
    typeof source !== 'object' ||
    typeof (source as Partial<MetricsSource>).metricsText !== 'function'
  ) {
    throw new InvalidArgumentError('source', source, 'an object with a metricsText() method');
  }
  const { port, host, path } = resolveOptions(options);

  const server = createServer(handler(source, path));
  await listen(server, port, host);

  // After listening, a server `error` (e.g. EMFILE on accept) with no listener would crash the process.
  // The server keeps accepting once the condition clears, so there is nothing better to do than drop it.
  server.on('error', () => {});

  const url = formatUrl(server.address() as AddressInfo, path);
  let closing: Promise<void> | undefined;
  let unregister: (() => void) | undefined;
  const endpoint: MetricsEndpoint = {
    url,
    close(): Promise<void> {
      unregister?.();
      closing ??= new Promise<void>((resolve) => {
        // The callback's error (server not running) is not a failure of close(): the goal state is reached.
        server.close(() => resolve());
        // server.close() stops accepting and drops idle keep-alive sockets, but waits for any connection
        // with a request still in progress — a stalled or slow client can hold that for minutes (the
        // server's request timeout). Drop them all (Node >= 18.2): our handler answers synchronously,
        // so no scrape we are answering is cut short, and close() settles promptly.
        if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
      });
      return closing;
    },
  };
  if (typeof source.onShutdown === 'function') unregister = source.onShutdown(() => endpoint.close());
  return endpoint;
}

/** `server.listen` as a promise that settles exactly once: listening, or a typed error. */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      // A failed listen holds no handle, so there is nothing to close.
      server.off('listening', onListening);
      const syscallCode = err.code ?? 'unknown';
      // Every listen failure comes from the port or host the caller chose (taken, privileged, not
      // local): name the option, keep the system error as the cause.
      const option =
        syscallCode === 'EADDRNOTAVAIL' || syscallCode === 'ENOTFOUND' ? 'options.host' : 'options.port';
      reject(
        new AgentPoolError(
          'ERR_INVALID_ARGUMENT',
          `serveMetrics: cannot listen on ${host}:${port} (${syscallCode}): ${err.message}`,
          {
            cause: err,
            details: { path: option, host, port, syscallCode },
          },
        ),
      );
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
