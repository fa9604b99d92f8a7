/**
 * Security of the wire (issue 17 item 6): the credentials and TLS settings a coordinator (`cluster`
 * option) or a node (`agentpool node` flags) hands the NATS client, validated at the boundary, and
 * the typed error a refused connection becomes. One place for both sides, so they cannot disagree on
 * what an option means, and so a wrong secret fails fast with the option named rather than as a
 * generic "cannot reach NATS" (or a wait).
 */
import { readFileSync } from 'node:fs';
import { nkeyAuthenticator, nkeys, type NodeConnectionOptions } from '@nats-io/transport-node';
import { AgentPoolError } from '../core/errors.js';
import { bool, invalid, type Kind, knownKeys, record, str } from '../core/validate.js';

/** TLS of the connection to NATS (files on this machine, PEM). */
export interface ClusterTlsOptions {
  /** CA certificate(s) that signed the server's certificate (default: the system's CAs). */
  caFile?: string;
  /** Client certificate, for a server that verifies clients (`tls { verify: true }`). */
  certFile?: string;
  /** The client certificate's private key. */
  keyFile?: string;
  /** TLS before the NATS INFO (a server configured `handshake_first`). @default false */
  handshakeFirst?: boolean;
}

/** Credentials and TLS, as given (every field optional; `tls: true` = TLS with the system's CAs). */
export interface ClusterAuthOptions {
  /** User of user/password authentication. */
  user?: string;
  /** Password of user/password authentication. */
  pass?: string;
  /** Token authentication. */
  token?: string;
  /** NKey authentication: the user's seed (`SU…`), e.g. read from a secret store. */
  nkeySeed?: string;
  /** NKey authentication: a file holding the user's seed (read once, at parse time). */
  nkeySeedFile?: string;
  /** Require TLS; an object for CA / client certificate files. */
  tls?: boolean | ClusterTlsOptions;
}

/** The validated credentials (the seed read from its file; files checked readable). */
export interface ClusterAuth {
  user?: string;
  pass?: string;
  token?: string;
  nkeySeed?: string;
  tls?: ClusterTlsOptions;
}

/** How a side names each setting in its errors (`cluster.token` for a coordinator, `--token-file` for a node). */
export type AuthNames = Record<
  'user' | 'pass' | 'token' | 'nkeySeed' | 'tls' | 'caFile' | 'certFile',
  string
>;

/** The `cluster` option's names. */
export const CLUSTER_NAMES: AuthNames = {
  user: 'cluster.user',
  pass: 'cluster.pass',
  token: 'cluster.token',
  nkeySeed: 'cluster.nkeySeed',
  tls: 'cluster.tls',
  caFile: 'cluster.tls.caFile',
  certFile: 'cluster.tls.certFile',
};

/** The keys of {@link ClusterAuthOptions} (the `cluster` option accepts them). */
export const AUTH_KEYS = ['user', 'pass', 'token', 'nkeySeed', 'nkeySeedFile', 'tls'] as const;
const TLS_KEYS = new Set(['caFile', 'certFile', 'keyFile', 'handshakeFirst']);

/** Validate credentials and TLS at `path` (`kind` 'config' for the option, 'argument' for flags). */
export function parseAuth(o: Record<string, unknown>, path: string, kind: Kind = 'config'): ClusterAuth {
  const out: ClusterAuth = {};
  for (const k of ['user', 'pass', 'token'] as const) {
    if (o[k] !== undefined) out[k] = str(kind, `${path}.${k}`, o[k], '');
  }
  if ((out.user === undefined) !== (out.pass === undefined))
    invalid(
      kind,
      `${path}.${out.user === undefined ? 'user' : 'pass'}`,
      undefined,
      'a value (user and pass go together)',
    );
  if (o.nkeySeed !== undefined && o.nkeySeedFile !== undefined)
    invalid(kind, `${path}.nkeySeedFile`, o.nkeySeedFile, 'no value when nkeySeed is given');
  if (o.nkeySeed !== undefined) out.nkeySeed = seed(kind, `${path}.nkeySeed`, o.nkeySeed);
  if (o.nkeySeedFile !== undefined) {
    const file = str(kind, `${path}.nkeySeedFile`, o.nkeySeedFile, '');
    out.nkeySeed = seed(
      kind,
      `${path}.nkeySeedFile`,
      readable(kind, `${path}.nkeySeedFile`, file).trim(),
      file,
    );
  }
  const given = [out.user !== undefined, out.token !== undefined, out.nkeySeed !== undefined].filter(Boolean);
  if (given.length > 1)
    invalid(kind, path, '(several)', 'one of user/pass, token or an nkey seed (the server checks one)');
  if (o.tls !== undefined && o.tls !== false) {
    if (o.tls === true) out.tls = {};
    else {
      const t = record(kind, `${path}.tls`, o.tls);
      knownKeys(kind, `${path}.tls`, t, TLS_KEYS);
      const tls: ClusterTlsOptions = {};
      for (const k of ['caFile', 'certFile', 'keyFile'] as const) {
        if (t[k] === undefined) continue;
        const file = str(kind, `${path}.tls.${k}`, t[k], '');
        readable(kind, `${path}.tls.${k}`, file);
        tls[k] = file;
      }
      if ((tls.certFile === undefined) !== (tls.keyFile === undefined))
        invalid(
          kind,
          `${path}.tls.${tls.certFile === undefined ? 'certFile' : 'keyFile'}`,
          undefined,
          'a file (certFile and keyFile go together)',
        );
      if (t.handshakeFirst !== undefined)
        tls.handshakeFirst = bool(kind, `${path}.tls.handshakeFirst`, t.handshakeFirst, false);
      out.tls = tls;
    }
  }
  return out;
}

/** What the NATS client gets of `auth`. */
export function connectOptions(auth: ClusterAuth): Partial<NodeConnectionOptions> {
  return {
    ...(auth.user !== undefined ? { user: auth.user, pass: auth.pass } : {}),
    ...(auth.token !== undefined ? { token: auth.token } : {}),
    ...(auth.nkeySeed !== undefined
      ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(auth.nkeySeed)) }
      : {}),
    ...(auth.tls !== undefined ? { tls: { ...auth.tls } } : {}),
  };
}

/**
 * The typed error of a connection NATS refused or could not secure, naming the setting to fix:
 * credentials refused → `ERR_ACCESS_DENIED` naming the credential given (or "none given"); a
 * certificate the client cannot verify → `ERR_ACCESS_DENIED` naming the CA file; TLS wanted by one
 * side only → naming `tls`; anything else (unreachable, timeout) → `ERR_AGENT_UNAVAILABLE`.
 * `details.option` is the name.
 */
export function connectFailure(
  cause: unknown,
  servers: readonly string[],
  auth: ClusterAuth,
  names: AuthNames,
): AgentPoolError {
  const e = cause as { name?: string; code?: string; message?: string };
  const msg = e.message ?? String(cause);
  const at = servers.join(', ');
  const denied = (option: string, why: string) =>
    new AgentPoolError('ERR_ACCESS_DENIED', `NATS at ${at} ${why} (${option}): ${msg}`, {
      cause,
      details: { servers: [...servers], option },
    });
  if (e.name === 'AuthorizationError' || /authorization violation|authentication/i.test(msg)) {
    const option =
      auth.nkeySeed !== undefined
        ? names.nkeySeed
        : auth.token !== undefined
          ? names.token
          : auth.user !== undefined
            ? `${names.user}/${names.pass}`
            : `${names.user}/${names.pass}, ${names.token} or ${names.nkeySeed} (none given)`;
    return denied(option, 'refused the credentials');
  }
  if (/certificate|self.signed|CERT_|UNABLE_TO_VERIFY|SSL|TLS/i.test(`${e.code ?? ''} ${msg}`)) {
    if (/tls required|requires tls|tls not|client didn't|handshake/i.test(msg) && auth.tls === undefined)
      return denied(names.tls, 'requires TLS');
    return denied(names.caFile, 'presented a certificate this side cannot verify');
  }
  const hint =
    e.name === 'TimeoutError' && auth.tls !== undefined && auth.tls.certFile === undefined
      ? ` (a server that verifies clients needs ${names.certFile})`
      : '';
  return new AgentPoolError('ERR_AGENT_UNAVAILABLE', `cannot reach NATS at ${at}: ${msg}${hint}`, {
    cause,
    details: { servers: [...servers] },
  });
}

function readable(kind: Kind, path: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return invalid(kind, path, file, 'a readable file');
  }
}

/** A user seed (`SU…`), checked by decoding it; the error shows the file, never the secret. */
function seed(kind: Kind, path: string, value: unknown, file?: string): string {
  const shown = file ?? '(a seed)';
  if (typeof value !== 'string') invalid(kind, path, shown, "an nkey user seed ('SU…')");
  try {
    nkeys.fromSeed(new TextEncoder().encode(value));
  } catch {
    invalid(kind, path, shown, "an nkey user seed ('SU…')");
  }
  if (!value.startsWith('SU')) invalid(kind, path, shown, "an nkey user seed ('SU…')");
  return value;
}
