/**
 * The network allowlist of a sandbox: a filtering HTTP proxy in the parent, reached through a Unix
 * socket bound into the sandbox (which has no network of its own). The agent's process bridges a
 * loopback port inside its namespace to the socket and sets `HTTP_PROXY`/`HTTPS_PROXY` to it, so
 * clients that honour those variables reach allowed `host:port`s; everything else has no route at
 * all. Every refused destination is reported to the parent's `onDenied` (a security event), whether
 * or not the agent looks at the answer.
 *
 * Supports `CONNECT host:port` (HTTPS and any TCP protocol) and absolute-form plain HTTP requests.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** Does `host:port` match one of `allow` (`host:port`, `*` for any host or any port)? */
export function allowed(allow: readonly string[], host: string, port: number): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return allow.some((entry) => {
    const i = entry.lastIndexOf(':');
    const eh = entry
      .slice(0, i)
      .toLowerCase()
      .replace(/^\[|\]$/g, '');
    const ep = entry.slice(i + 1);
    return (eh === '*' || eh === h) && (ep === '*' || Number(ep) === port);
  });
}

/** Where a request goes: `CONNECT host:port` or `GET http://host:port/…`. */
function target(head: string): { host: string; port: number; connect: boolean } | undefined {
  const line = head.slice(0, head.indexOf('\r\n'));
  const [method, uri] = line.split(' ');
  if (!method || !uri) return undefined;
  if (method === 'CONNECT') {
    const i = uri.lastIndexOf(':');
    const port = Number(uri.slice(i + 1));
    return i > 0 && Number.isInteger(port) ? { host: uri.slice(0, i), port, connect: true } : undefined;
  }
  try {
    const u = new URL(uri);
    if (u.protocol !== 'http:') return undefined;
    return { host: u.hostname, port: Number(u.port || 80), connect: false };
  } catch {
    return undefined;
  }
}

/** Largest request head read before a request is refused. */
const MAX_HEAD = 16 * 1024;

/** Start a filtering proxy on the Unix socket `path`; resolves once it listens. */
export async function startEgressProxy(
  path: string,
  allow: readonly string[],
  onDenied: (destination: string) => void,
): Promise<Server> {
  const server = createServer((client: Socket) => {
    client.on('error', () => {});
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > MAX_HEAD) client.end('HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n');
        return;
      }
      client.off('data', onData);
      const head = buf.subarray(0, end + 4);
      const rest = buf.subarray(end + 4);
      const t = target(head.toString('latin1'));
      if (!t) {
        client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
        return;
      }
      if (!allowed(allow, t.host, t.port)) {
        onDenied(`${t.host}:${t.port}`);
        client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const upstream = connect({ host: t.host, port: t.port });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.once('connect', () => {
        if (t.connect) client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        else upstream.write(head);
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream).pipe(client);
      });
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // The proxy must never be what keeps the parent alive.
  server.unref();
  return server;
}
