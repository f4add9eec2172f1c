/**
 * The CLI commands that call a running daemon's API (`vigil baseline`, `revocation`, `webhook`, `mute`,
 * `mutes`, `unmute`), as a user runs them: the compiled `vigil` in a child process, against real HTTP servers standing in for daemons
 * (what they answer is the point here, not Vigil's own API, which test/api covers): which daemon a command
 * reaches (--config before or after the sub-command, VIGIL_CONFIG), that it says which one answered, and
 * one sentence for each way the call can fail.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, ROOT } from '../helpers/serve-process.js';

const TOKEN = 'test-token-0123456789abcdef';

/** Runs the CLI without blocking this process (the servers below answer from it). */
function vigilAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, VIGIL_CONFIG: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A config whose API endpoint is `api` and whose store is under a fresh folder. */
function configFor(api: string): { config: string; dataDir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-'));
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(config, `api: { endpoint: "${api}" }\nstorage: { path: "data/vigil.db" }\n`);
  return { config, dataDir: path.join(dir, 'data') };
}

interface FakeDaemon {
  base: string;
  config: string;
  /** "METHOD url" of each request it took. */
  requests: string[];
  /** The JSON bodies sent to it. */
  bodies: unknown[];
}

const servers: http.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** A real HTTP server on port 0 answering each request with `answer`, and a config pointing at it. */
async function fakeDaemon(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<FakeDaemon> {
  const requests: string[] = [];
  const bodies: unknown[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (body) bodies.push(JSON.parse(body));
      answer(req, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return { base: `http://${endpoint}`, config: configFor(endpoint).config, requests, bodies };
}

const answersOk = (_req: http.IncomingMessage, res: http.ServerResponse) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');

describe('which daemon a command reaches', () => {
  it('VIGIL_CONFIG names the config when --config is absent; --config, before or after the sub-command, beats it; stderr names the daemon that answered', async () => {
    const [production, staging] = await Promise.all([fakeDaemon(answersOk), fakeDaemon(answersOk)]);
    const env = { VIGIL_CONFIG: production.config, VIGIL_API_TOKEN: TOKEN };

    const viaEnv = await vigilAsync(['baseline', 'show', 'spiffe://acme/a'], env);
    expect(viaEnv).toMatchObject({ code: 0, stdout: '{\n  "ok": true\n}\n' });
    expect(viaEnv.stderr).toBe(`vigil: answered by the daemon at ${production.base}\n`);
    expect(production.requests).toEqual([`GET /v1/identities/${encodeURIComponent('spiffe://acme/a')}`]);

    const runs = await Promise.all([
      vigilAsync(['baseline', '--config', staging.config, 'allow', 'spiffe://acme/a', 'tool', 'crm.export'], env),
      vigilAsync(['baseline', 'allows', '--config', staging.config], env),
      vigilAsync(['webhook', '--config', staging.config, 'list'], env),
      vigilAsync(['revocation', '--config', staging.config, 'retry', 'rev-1'], env),
      vigilAsync(['mute', 'spiffe://acme/a', 'retry_storm', '--for', '4h', '--reason', 'SEC-9', '--max-severity', 'critical', '--config', staging.config], env),
      vigilAsync(['mutes', '--config', staging.config, 'spiffe://acme/a', '--all'], env),
      vigilAsync(['unmute', '--config', staging.config, '7'], env),
    ]);
    for (const r of runs) expect(r).toMatchObject({ code: 0, stderr: `vigil: answered by the daemon at ${staging.base}\n` });
    const a = encodeURIComponent('spiffe://acme/a');
    expect(staging.requests.sort()).toEqual(
      ['GET /v1/allows', 'GET /v1/webhooks', `POST /v1/identities/${a}/allow`, 'POST /v1/revocations/rev-1/retry', `POST /v1/identities/${a}/mute`, `GET /v1/mutes?identity=${a}&all=true`, 'POST /v1/mutes/7/end'].sort(),
    );
    expect(staging.bodies).toContainEqual({ detector: 'retry_storm', maxSeverity: 'critical', for: '4h', reason: 'SEC-9' });
    expect(production.requests).toHaveLength(1); // nothing more reached it
  });

  it('a VIGIL_CONFIG that names no file: says so, exit 1', async () => {
    const missing = path.join(os.tmpdir(), 'vigil-no-such-config.yaml');
    const r = await vigilAsync(['baseline', 'show', 'spiffe://acme/a'], { VIGIL_CONFIG: missing, VIGIL_API_TOKEN: TOKEN });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${missing}: no such file; check the VIGIL_CONFIG path`);
  });
});

describe('a call that fails', () => {
  it('with a --max-severity no mute has: names the flag, exit 1, nothing sent', async () => {
    const { config } = configFor('127.0.0.1:9');
    const r = await vigilAsync(['mute', 'spiffe://acme/a', 'retry_storm', '--for', '4h', '--reason', 'SEC-9', '--max-severity', 'severe', '--config', config], { VIGIL_API_TOKEN: 't' });
    expect([r.code, r.stderr]).toEqual([1, 'vigil: --max-severity: must be one of low, medium, high, critical (the most severe finding the mute swallows; high if left out)\n']);
  });

  it('with no token to read: says what to set, and creates nothing in the data folder', async () => {
    const { config, dataDir } = configFor('127.0.0.1:9');
    const r = await vigilAsync(['baseline', 'show', '--config', config, 'spiffe://test/x'], { VIGIL_API_TOKEN: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`vigil: no API token in ${path.join(dataDir, 'api-token')}: set VIGIL_API_TOKEN`);
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('an API that answers an error, 401, not JSON, or not at all: one sentence each naming the daemon, exit 1, no stack trace', async () => {
    const daemon = await fakeDaemon((req, res) => {
      if (req.url!.includes('unknown')) res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"code":"VIGIL_ERR_NOT_FOUND","message":"unknown identity"}');
      else if (req.url!.includes('unauthorized')) res.writeHead(401).end('{"code":"VIGIL_ERR_UNAUTHENTICATED"}');
      else if (req.url!.includes('proxy')) res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>login</html>');
      // else: never answers
    });
    const run = (identity: string) => vigilAsync(['baseline', 'show', '--config', daemon.config, identity], { VIGIL_API_TOKEN: TOKEN });
    const [unknown, unauthorized, proxy, silent] = await Promise.all([run('unknown'), run('unauthorized'), run('proxy'), run('silent')]);
    expect(unknown.stderr).toBe(`vigil: GET /v1/identities/unknown: 404 from the daemon at ${daemon.base}: {"code":"VIGIL_ERR_NOT_FOUND","message":"unknown identity"}\n`);
    expect(unauthorized.stderr).toContain(`the daemon at ${daemon.base} does not take this token; set VIGIL_API_TOKEN`);
    expect(proxy.stderr).toContain(`${daemon.base} answered with something other than JSON`);
    expect(silent.stderr).toContain(`the daemon at ${daemon.base} did not answer within 10 s`);
    for (const r of [unknown, unauthorized, proxy, silent]) {
      expect(r.code).toBe(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
