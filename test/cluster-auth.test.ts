/**
 * Security of the wire (issue 17 item 6) over REAL nats-servers started with configurations that
 * require authentication (token, user/password, nkey) and TLS with certificates made by `openssl`
 * here: the right credentials connect (coordinator and `agentpool node`), wrong ones fail with a
 * typed error naming the option — a settled promise, not a wait.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type ClusterOptions, createAgentPoolSystem } from '../src/index.js';
import { parseCluster } from '../src/cluster/config.js';
import { findNatsServer, type LocalNats, NATS_INSTALL_HINT, startNatsServer } from '../src/cluster/server.js';
import { clusterAgent as agent, killAll, startNodeProcess } from './helpers/cluster-nodes.js';

const hasNats = findNatsServer() !== undefined;
const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
if (!hasNats) console.warn(`test/cluster-auth.test.ts skipped: ${NATS_INSTALL_HINT}`);
if (!hasOpenssl) console.warn('test/cluster-auth.test.ts: TLS part skipped, openssl is not installed');

const dir = mkdtempSync(join(tmpdir(), 'agentpool-auth-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
};
let seq = 0;

function systemOn(url: string, name: string, auth: Partial<ClusterOptions>) {
  return createAgentPoolSystem({
    pools: {
      work: {
        agent,
        host: 'remote',
        min: 1,
        max: 1,
        healthCheckIntervalMs: 60_000,
        timings: { backoffBaseMs: 50, backoffMaxMs: 100 },
      },
    },
    cluster: { servers: url, name, heartbeatMs: 200, lostAfterMs: 1_000, requestTimeoutMs: 2_000, ...auth },
    shutdownDeadlineMs: 2_000,
  });
}

/** The right credentials: a node and a coordinator connect, a task runs on the node. */
async function runsWith(
  url: string,
  nodeArgs: string[],
  auth: Partial<ClusterOptions>,
  env?: Record<string, string>,
) {
  const sys = `a${++seq}`;
  const n = await startNodeProcess(url, sys, 'n', nodeArgs, env ? { env } : {});
  const system = systemOn(url, sys, auth);
  await system.start();
  try {
    const r = (await system.submit({ type: 'work', task: 'whoami', input: { n: 7 } })) as {
      pid: number;
      n: number;
    };
    expect(r).toEqual({ pid: n.pid, n: 7 });
  } finally {
    await system.shutdown();
  }
}

/** Wrong credentials: the coordinator's start rejects; its pool's last error is the typed one naming `option`. */
async function refusedWith(
  url: string,
  auth: Partial<ClusterOptions>,
  option: string,
  code = 'ERR_ACCESS_DENIED',
) {
  const system = systemOn(url, `a${++seq}`, auth);
  try {
    await expect(system.start()).rejects.toThrow(option);
    const last = system.status().pools.work!.lastError;
    expect(last?.code).toBe(code);
    expect(last?.message).toContain(option);
  } finally {
    await system.shutdown();
  }
}

describe.skipIf(!hasNats)('cluster authentication over real nats-servers', () => {
  const servers: LocalNats[] = [];
  afterEach(() => killAll());
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  const server = async (config: string) => {
    const s = await startNatsServer(10_000, { config });
    servers.push(s);
    return s;
  };

  it('token: the right token connects node and coordinator; a wrong or missing one is ERR_ACCESS_DENIED naming the option', async () => {
    const s = await server('authorization { token: "s3cret-token" }');
    await runsWith(s.url, ['--token-file', file('token', 's3cret-token\n')], { token: 's3cret-token' });
    await refusedWith(s.url, { token: 'wrong' }, 'cluster.token');
    await refusedWith(s.url, {}, 'cluster.user/cluster.pass, cluster.token or cluster.nkeySeed (none given)');
    // The node exits 1 at once with the flag named (nodeReady rejects on the exit).
    await expect(
      startNodeProcess(s.url, `a${++seq}`, 'bad', ['--token-file', file('bad', 'nope')]),
    ).rejects.toThrow(/ERR_ACCESS_DENIED.*refused the credentials \(--token-file\/AGENTPOOL_NATS_TOKEN\)/);
    // The token may come from the environment instead of a file.
    await runsWith(s.url, [], { token: 's3cret-token' }, { AGENTPOOL_NATS_TOKEN: 's3cret-token' });
  }, 60_000);

  it('user/password: the password from AGENTPOOL_NATS_PASS or --pass-file; a wrong one names cluster.user/cluster.pass', async () => {
    const s = await server('authorization { users = [ { user: "ap", password: "pw-1" } ] }');
    await runsWith(s.url, ['--user', 'ap'], { user: 'ap', pass: 'pw-1' }, { AGENTPOOL_NATS_PASS: 'pw-1' });
    await runsWith(s.url, ['--user', 'ap', '--pass-file', file('pass', 'pw-1')], {
      user: 'ap',
      pass: 'pw-1',
    });
    await refusedWith(s.url, { user: 'ap', pass: 'pw-2' }, 'cluster.user/cluster.pass');
    await expect(
      startNodeProcess(s.url, `a${++seq}`, 'bad', ['--user', 'ap', '--pass-file', file('badpass', 'x')]),
    ).rejects.toThrow(/ERR_ACCESS_DENIED.*\(--user\/--pass-file\/AGENTPOOL_NATS_PASS\)/);
  }, 60_000);

  it('nkey: the user seed signs the challenge; another seed is refused naming cluster.nkeySeed', async () => {
    const user = nkeys.createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const other = new TextDecoder().decode(nkeys.createUser().getSeed());
    const s = await server(`authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }`);
    const seedFile = file('user.nk', `${seed}\n`);
    await runsWith(s.url, ['--nkey-seed-file', seedFile], { nkeySeedFile: seedFile });
    await runsWith(s.url, [], { nkeySeed: seed }, { AGENTPOOL_NATS_NKEY_SEED: seed });
    await refusedWith(s.url, { nkeySeed: other }, 'cluster.nkeySeed');
    await expect(
      startNodeProcess(s.url, `a${++seq}`, 'bad', ['--nkey-seed-file', file('other.nk', other)]),
    ).rejects.toThrow(/ERR_ACCESS_DENIED.*--nkey-seed-file/);
  }, 60_000);

  it.skipIf(!hasOpenssl)(
    'TLS with client certificates (openssl-made CA): the CA and certificate connect; without the CA it is refused naming cluster.tls.caFile',
    async () => {
      const ssl = (...args: string[]) => {
        const r = spawnSync('openssl', args, { cwd: dir, stdio: 'pipe' });
        if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr.toString()}`);
      };
      ssl(
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.pem',
        '-days',
        '1',
        '-subj',
        '/CN=agentpool test CA',
      );
      for (const who of ['server', 'client']) {
        ssl(
          'req',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          `${who}.key`,
          '-out',
          `${who}.csr`,
          '-subj',
          `/CN=agentpool-${who}`,
        );
        file(
          `${who}.ext`,
          who === 'server' ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' : 'extendedKeyUsage=clientAuth\n',
        );
        ssl(
          'x509',
          '-req',
          '-in',
          `${who}.csr`,
          '-CA',
          'ca.pem',
          '-CAkey',
          'ca.key',
          '-CAcreateserial',
          '-out',
          `${who}.pem`,
          '-days',
          '1',
          '-extfile',
          `${who}.ext`,
        );
      }
      const p = (f: string) => join(dir, f);
      const s = await server(
        `tls { cert_file: "${p('server.pem')}", key_file: "${p('server.key')}", ca_file: "${p('ca.pem')}", verify: true }\n` +
          'authorization { token: "tls-token" }',
      );
      const tls = { caFile: p('ca.pem'), certFile: p('client.pem'), keyFile: p('client.key') };
      await runsWith(
        s.url,
        [
          '--tls-ca',
          tls.caFile,
          '--tls-cert',
          tls.certFile,
          '--tls-key',
          tls.keyFile,
          '--token-file',
          file('t', 'tls-token'),
        ],
        { tls, token: 'tls-token' },
      );
      // Without a client certificate the server ends the handshake silently: a bounded timeout that says what is missing.
      await refusedWith(
        s.url,
        { tls: { caFile: tls.caFile }, token: 'tls-token' },
        'needs cluster.tls.certFile',
        'ERR_AGENT_UNAVAILABLE',
      );
      // The server's certificate is signed by a CA this side was not given.
      await refusedWith(s.url, { tls: true, token: 'tls-token' }, 'cluster.tls.caFile');
      await expect(
        startNodeProcess(s.url, `a${++seq}`, 'bad', ['--tls', '--token-file', file('t2', 'tls-token')]),
      ).rejects.toThrow(/ERR_ACCESS_DENIED.*\(--tls-ca\)/);
    },
    60_000,
  );

  it('a node started for other pools is never chosen: the start fails naming its pools', async () => {
    const s = await server('');
    await startNodeProcess(s.url, `a${++seq}`, 'only', ['--pools', 'other']);
    const system = systemOn(s.url, `a${seq}`, {});
    try {
      await expect(system.start()).rejects.toThrow('no node fits pool work: only: runs only other');
    } finally {
      await system.shutdown();
    }
  }, 30_000);

  it('credential and TLS options are validated: typed errors naming the path, never showing a secret', () => {
    const bad = (o: Record<string, unknown>, path: string) =>
      expect(() => parseCluster({ servers: 'nats://127.0.0.1:1', ...o })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_CONFIG', path }),
      );
    bad({ tls: { caFlie: 'x' } }, 'cluster.tls.caFlie');
    bad({ tls: { caFile: join(dir, 'missing.pem') } }, 'cluster.tls.caFile');
    bad({ tls: { certFile: file('c.pem', 'x') } }, 'cluster.tls.keyFile');
    bad({ user: 'u' }, 'cluster.pass');
    bad({ token: 't', nkeySeed: new TextDecoder().decode(nkeys.createUser().getSeed()) }, 'cluster');
    bad({ nkeySeedFile: join(dir, 'missing.nk') }, 'cluster.nkeySeedFile');
    try {
      parseCluster({ servers: 'nats://127.0.0.1:1', nkeySeed: 'SUsecret-not-a-seed' });
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'ERR_INVALID_CONFIG', path: 'cluster.nkeySeed' });
      expect((e as Error).message).not.toContain('SUsecret');
    }
    const ok = parseCluster({ servers: 'nats://127.0.0.1:1', tls: true, token: 't' });
    expect(ok.auth).toEqual({ token: 't', tls: {} });
  });
});
