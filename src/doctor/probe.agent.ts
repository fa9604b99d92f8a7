/**
 * The agent `agentpool doctor` runs in each tier: every task attempts one thing an isolated agent
 * must not be able to do, and throws what the attempt threw.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { defineAgent } from '../agent/define.js';

export default defineAgent({
  fsWriteOutside: (input: { path: string }) => writeFileSync(input.path, 'doctor'),
  fsReadSecret: (input: { path: string }) => readFileSync(input.path, 'utf8').length,
  spawn: () => execFileSync('/bin/sh', ['-c', 'true']).length,
  network: (input: { port: number }) =>
    new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: input.port });
      s.once('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('error', reject);
    }),
  toolOutsideAllowlist: (_input: unknown, ctx) => ctx.tools.call('not-granted'),
  memoryCap: () => {
    const keep: number[][] = [];
    for (;;) keep.push(new Array(1e6).fill(1));
  },
});
