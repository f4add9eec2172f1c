/**
 * `vigil baseline` against an API served over TLS (`api.tls`) listening on every interface: the CLI calls
 * loopback (it used to call https://0.0.0.0, fail the certificate's host check, and tell an operator who
 * had set NODE_EXTRA_CA_CERTS to set it). Real daemon, real CLI process.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startTestDaemon, TEST_TOKEN, type TestDaemon } from '../helpers/daemon.js';
import { CLI } from '../helpers/serve-process.js';
import { SERVER_TLS, tlsFile } from '../helpers/tls.js';

const trusted = { NODE_EXTRA_CA_CERTS: tlsFile('ca') };

let t: TestDaemon | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function cli(args: string[], env: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, VIGIL_API_TOKEN: TEST_TOKEN, ...env } }, (err, stdout, stderr) =>
      resolve({ status: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** `vigil baseline show` with the daemon's own api section (endpoint host as configured, real port). */
async function show(d: TestDaemon, host: string, tls: Record<string, string>) {
  const cfg = path.join(d.dir, 'cli.yaml');
  fs.writeFileSync(cfg, `api: { endpoint: "${host}:${d.daemon.ports.api}", tls: ${JSON.stringify(tls)} }\nstorage: { path: "${path.join(d.dir, 'vigil.db')}" }\n`);
  return cli(['baseline', 'show', '--config', cfg, 'spiffe://acme.example/agent/nobody'], trusted);
}

it('api.endpoint 0.0.0.0 with api.tls: the CLI reaches the daemon over loopback', async () => {
  t = await startTestDaemon({ api: { endpoint: '0.0.0.0:0', tls: SERVER_TLS } });
  const r = await show(t, '0.0.0.0', SERVER_TLS);
  // The daemon answered (it knows no such identity).
  expect(r.stderr).toMatch(/GET \/v1\/identities\/spiffe%3A%2F%2Facme\.example%2Fagent%2Fnobody: 404/);
});
