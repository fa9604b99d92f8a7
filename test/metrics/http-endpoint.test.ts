/**
 * serveMetrics(): the Prometheus HTTP endpoint over a real AgentPoolSystem (inline agents on a
 * ManualClock, so the text does not change between the scrape and the comparison), its 404/405/500
 * answers, option validation, listen failures, and close() (idempotent, keep-alive safe, leaves
 * nothing that keeps the process alive).
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import { AgentPoolError, InvalidArgumentError } from '../../src/core/errors.js';
import * as api from '../../src/index.js';
import {
  type MetricsEndpoint,
  type MetricsSource,
  serveMetrics,
  type ServeMetricsOptions,
} from '../../src/metrics/http-endpoint.js';
import { ManualClock } from '../../src/core/clock.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const endpoints: MetricsEndpoint[] = [];
const systems: AgentPoolSystem[] = [];

afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
  await Promise.all(systems.splice(0).map((s) => s.shutdown({ graceful: false })));
});

async function serve(source: MetricsSource, options: ServeMetricsOptions = { port: 0 }) {
  const e = await serveMetrics(source, options);
  endpoints.push(e);
  return e;
}

/** A started system with one inline pool `code` of exactly two agents. */
async function startSystem(): Promise<AgentPoolSystem> {
  const clock = new ManualClock();
  const sys = new AgentPoolSystem({
    clock,
    pools: {
      code: {
        agent: defineAgent({ echo: (x: unknown) => x }),
        min: 2,
        max: 2,
        healthCheckIntervalMs: 0,
      },
    },
  });
  systems.push(sys);
  await sys.start();
  await clock.advanceAsync(0);
  return sys;
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<AgentPoolError> {
  try {
    await p;
  } catch (e) {
    return e as AgentPoolError;
  }
  throw new Error('expected a rejection, got a value');
}

const fake = (text: () => string): MetricsSource => ({ metricsText: text });

describe('serveMetrics', () => {
  it('is exported from the package entry point', () => {
    expect(api.serveMetrics).toBe(serveMetrics);
  });

  it('serves system.metricsText() on GET /metrics with the Prometheus content type', async () => {
    const sys = await startSystem();
    const ep = await serve(sys, { port: 0 });
    expect(ep.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(ep.url).not.toMatch(/:0\//); // the port actually bound, not the 0 asked for

    const res = await fetch(ep.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(CONTENT_TYPE);
    const body = await res.text();
    // The clock is manual, so nothing moves between the scrape and this call.
    expect(body).toBe(sys.metricsText());
    expect(body).toContain(
      '# HELP agentpool_agents The pool size: agents starting or up, retiring ones excluded.\n',
    );
    expect(body).toContain('# TYPE agentpool_wait_seconds histogram\n');
    expect(body).toContain('\nagentpool_agents{pool="code"} 2\n');
    expect(body).toContain('\nagentpool_queue_depth{pool="code"} 0\n');
  });

  it('renders on every scrape (values are current, not cached)', async () => {
    let n = 0;
    const ep = await serve(fake(() => `# n\nvalue ${++n}\n`));
    expect(await (await fetch(ep.url)).text()).toBe('# n\nvalue 1\n');
    expect(await (await fetch(ep.url)).text()).toBe('# n\nvalue 2\n');
  });

  it('answers HEAD with the headers of GET and no body; ignores a query string', async () => {
    const text = '# HELP x ünïcode\nx 1\n';
    const ep = await serve(fake(() => text));
    const head = await fetch(ep.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe(CONTENT_TYPE);
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
    expect(await head.text()).toBe('');

    const withQuery = await fetch(`${ep.url}?debug=1`);
    expect(withQuery.status).toBe(200);
    expect(await withQuery.text()).toBe(text);
  });

  it('uses the path option, and answers 404 on any other path', async () => {
    const ep = await serve(
      fake(() => 'x 1\n'),
      { port: 0, path: '/internal/metrics' },
    );
    expect(new URL(ep.url).pathname).toBe('/internal/metrics');
    expect((await fetch(ep.url)).status).toBe(200);
    const base = new URL(ep.url).origin;
    for (const p of ['/metrics', '/', '/internal/metrics/', '/internal/metricsx']) {
      const res = await fetch(base + p);
      expect(res.status, p).toBe(404);
      await res.arrayBuffer();
    }
  });

  it('answers 405 with Allow: GET, HEAD to other methods', async () => {
    let calls = 0;
    const ep = await serve(
      fake(() => {
        calls++;
        return 'x 1\n';
      }),
    );
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await fetch(ep.url, { method, body: method === 'DELETE' ? null : 'x' });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      await res.arrayBuffer();
    }
    expect(calls).toBe(0); // a rejected method never renders the metrics
  });

  it('answers 500 when metricsText() throws or returns a non-string, and keeps serving', async () => {
    let mode: 'throw' | 'bad' | 'ok' = 'throw';
    const ep = await serve({
      metricsText: () => {
        if (mode === 'throw') throw new Error('secret internal detail');
        if (mode === 'bad') return 42 as unknown as string;
        return 'x 1\n';
      },
    });
    const failed = await fetch(ep.url);
    expect(failed.status).toBe(500);
    expect(await failed.text()).not.toContain('secret internal detail');

    mode = 'bad';
    const bad = await fetch(ep.url);
    expect(bad.status).toBe(500);
    await bad.arrayBuffer();

    mode = 'ok';
    const ok = await fetch(ep.url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('x 1\n');
  });

  it.each<[string, unknown, string, unknown]>([
    ['port -1', { port: -1 }, 'options.port', -1],
    ['port 70000', { port: 70_000 }, 'options.port', 70_000],
    ["port 'x'", { port: 'x' }, 'options.port', 'x'],
    ['port 1.5', { port: 1.5 }, 'options.port', 1.5],
    ['port NaN', { port: Number.NaN }, 'options.port', Number.NaN],
    ["host ''", { host: '' }, 'options.host', ''],
    ['host 1', { host: 1 }, 'options.host', 1],
    ["path 'metrics'", { path: 'metrics' }, 'options.path', 'metrics'],
    ['unknown key', { port: 0, prot: 9464 }, 'options.prot', 9464],
    ['options null', null, 'options', null],
    ['options a string', '9464', 'options', '9464'],
  ])(
    'rejects bad options (%s) with ERR_INVALID_ARGUMENT naming the path',
    async (_, options, path, received) => {
      const e = await rejection(
        serveMetrics(
          fake(() => ''),
          options as ServeMetricsOptions,
        ),
      );
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect(e.code).toBe('ERR_INVALID_ARGUMENT');
      expect((e as InvalidArgumentError).path).toBe(path);
      expect((e as InvalidArgumentError).received).toEqual(received);
      expect(e.message).toContain(path);
    },
  );

  it('rejects a source without metricsText()', async () => {
    for (const source of [null, undefined, {}, { metricsText: 'x' }]) {
      const e = await rejection(serveMetrics(source as unknown as MetricsSource, { port: 0 }));
      expect(e.code).toBe('ERR_INVALID_ARGUMENT');
      expect((e as InvalidArgumentError).path).toBe('source');
    }
  });

  it('rejects with a typed error, keeping the cause, when the port is taken', async () => {
    const first = await serve(fake(() => 'x 1\n'));
    const port = Number(new URL(first.url).port);
    const e = await rejection(
      serveMetrics(
        fake(() => ''),
        { port, host: '127.0.0.1' },
      ),
    );
    expect(e).toBeInstanceOf(AgentPoolError);
    expect(e.code).toBe('ERR_INVALID_ARGUMENT');
    expect((e.cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    expect(e.details).toMatchObject({
      path: 'options.port',
      port,
      host: '127.0.0.1',
      syscallCode: 'EADDRINUSE',
    });
    expect(e.message).toContain(`127.0.0.1:${port}`);
    // The first endpoint is unaffected.
    expect((await fetch(first.url)).status).toBe(200);
  });

  it('close() is idempotent, and afterwards nothing answers', async () => {
    const ep = await serveMetrics(
      fake(() => 'x 1\n'),
      { port: 0 },
    );
    const res = await fetch(ep.url); // leaves a keep-alive connection in fetch's pool
    expect(res.status).toBe(200);
    await res.text();
    const a = ep.close();
    const b = ep.close();
    expect(b).toBe(a);
    await a;
    await ep.close();
    await expect(fetch(ep.url)).rejects.toThrow();
  });

  it('system.shutdown() closes an endpoint serving that system; a closed endpoint unregisters itself', async () => {
    const sys = await startSystem();
    const ep = await serveMetrics(sys, { port: 0 });
    expect((await fetch(ep.url)).status).toBe(200);
    const other = await serveMetrics(sys, { port: 0 });
    await other.close(); // no longer tied to the system: shutdown must not touch it again
    let hookRan = false;
    const off = sys.onShutdown(() => {
      hookRan = true;
    });
    const failing = sys.onShutdown(() => {
      throw new Error('a failing hook does not stop the shutdown');
    });
    await sys.shutdown({ graceful: false });
    await expect(fetch(ep.url)).rejects.toThrow();
    expect(hookRan).toBe(true);
    off();
    failing();
    expect(() => sys.onShutdown(5 as never)).toThrow(InvalidArgumentError);
  });

  it('close() does not wait for a connection with a request still in flight', async () => {
    const ep = await serveMetrics(
      fake(() => 'x 1\n'),
      { port: 0 },
    );
    const { hostname, port, pathname } = new URL(ep.url);
    const socket: Socket = connect(Number(port), hostname);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {}); // a reset is how the server may drop us
    const response = new Promise<string>((resolve) => {
      let got = '';
      socket.on('data', (chunk: Buffer) => {
        got += chunk.toString('utf8');
        if (got.includes('\r\n\r\n')) resolve(got);
      });
    });
    // A request whose body never finishes: the server answers (405) as soon as it has the headers, so
    // receiving that answer proves the server holds this connection, busy reading the rest. Neither
    // server.close() nor closeIdleConnections() ends such a connection, and the body bytes trickling in
    // keep resetting the socket's inactivity timeout, so only close() dropping it can end this test
    // before its own timeout (the timer feeds the server; nothing here measures time).
    socket.write(`POST ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Length: 100000\r\n\r\npartial`);
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write('x');
    }, 100);
    try {
      expect(await response).toMatch(/^HTTP\/1\.1 405 /);
      await ep.close();
      await closed; // the server dropped the connection rather than waiting for the client
      expect(socket.destroyed).toBe(true);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it('leaves nothing that keeps the process alive after close()', async () => {
    // A fresh Node process: serve, scrape, close, then it must exit by itself. The unref'd timer does
    // not keep it alive; it only fires (exit code 3) if something else does.
    const module = fileURLToPath(new URL('../../src/metrics/http-endpoint.ts', import.meta.url));
    const script = `
      const { serveMetrics } = await import(${JSON.stringify(module)});
      const ep = await serveMetrics({ metricsText: () => 'x 1\\n' }, { port: 0 });
      const res = await fetch(ep.url);
      if (res.status !== 200 || (await res.text()) !== 'x 1\\n') process.exit(2);
      await ep.close();
      setTimeout(() => process.exit(3), 10_000).unref();
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
