/**
 * The CLI as a user runs it: the compiled `vigil` (dist/, built by `npm test`'s pretest) in a child
 * process. Golden replay, check-config errors, serve with a clean SIGTERM shutdown, and `kill -9` after
 * acknowledged exports losing nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SpanKind } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';

import { waitFor } from '../helpers/daemon.js';
import { encodeJson, makeSpans, type SpanSpec } from '../helpers/otlp-payloads.js';
import { CLI, ROOT, serve, type ServeProcess } from '../helpers/serve-process.js';
const GOLDEN = path.join(ROOT, 'test/fixtures/golden');

function vigil(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, VIGIL_CONFIG: '', ...env }, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-'));
}

describe('vigil replay', () => {
  const expected = fs.readFileSync(path.join(GOLDEN, 'agent-traces.actions.jsonl'), 'utf8');
  const config = path.join(GOLDEN, 'config.yaml');

  it('derives the golden actions from the golden OTLP/JSON lines (plain and .gz)', () => {
    if (process.env.UPDATE_GOLDEN) {
      const out = vigil(['replay', '--config', config, '--actions', path.join(GOLDEN, 'agent-traces.otlp.jsonl')]);
      fs.writeFileSync(path.join(GOLDEN, 'agent-traces.actions.jsonl'), out.stdout);
    }
    for (const file of ['agent-traces.otlp.jsonl', 'agent-traces.otlp.jsonl.gz']) {
      const r = vigil(['replay', '--config', config, '--actions', path.join(GOLDEN, file)]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(expected);
      expect(r.stderr).toMatch(/spans\s+15/);
      expect(r.stderr).toMatch(/actions\s+10 \(tool=3 delegation=1 http=4 db=1 model=1\)/);
      expect(r.stderr).toMatch(/identities\s+2/);
      expect(r.stderr).toMatch(/rejected\s+1 \(no_identity=1\)/);
      // Tool arguments, prompts, the URL query and the status message all carried this canary.
      expect(r.stdout + r.stderr).not.toContain('SECRET-CANARY');
    }
  });

  it('prints no alert lines without detectors, and a summary', () => {
    const r = vigil(['replay', '--config', config, path.join(GOLDEN, 'agent-traces.otlp.jsonl')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/alerts\s+0/);
  });

  it('skips a malformed line with its line number and goes on', () => {
    const dir = tmpDir();
    const good = fs.readFileSync(path.join(GOLDEN, 'agent-traces.otlp.jsonl'), 'utf8').split('\n')[0];
    const file = path.join(dir, 'mixed.jsonl');
    fs.writeFileSync(file, `{"resourceSpans": [\n${good}\n`);
    const r = vigil(['replay', '--actions', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('mixed.jsonl:1: skipped');
    expect(r.stdout.trim().split('\n')).toHaveLength(6);
  });

  it('names a missing file and exits 1 without a stack trace', () => {
    const r = vigil(['replay', '/nonexistent/traces.jsonl']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read /nonexistent/traces.jsonl');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('names --db when it cannot be the store', () => {
    const r = vigil(['replay', '--db', tmpDir(), path.join(GOLDEN, 'agent-traces.otlp.jsonl')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot use --db \(.+\): it is a folder/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('keeps what it learned in --db', () => {
    const db = path.join(tmpDir(), 'replay.db');
    expect(vigil(['replay', '--db', db, path.join(GOLDEN, 'agent-traces.otlp.jsonl')]).code).toBe(0);
    const rows = new Database(db, { readonly: true }).prepare('SELECT identity, actions FROM identities ORDER BY identity').all();
    expect(rows).toEqual([
      { identity: 'spiffe://acme.example/ns/support/sa/agent-1', actions: 8 },
      { identity: 'spiffe://acme.example/ns/tools/sa/files-mcp', actions: 2 },
    ]);
  });

  it('reads standard input for the file name - (`zcat dump.jsonl.gz | vigil replay -`)', () => {
    const input = fs.readFileSync(path.join(GOLDEN, 'agent-traces.otlp.jsonl'));
    const r = spawnSync(process.execPath, [CLI, 'replay', '--config', config, '--actions', '-'], { cwd: ROOT, input, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(expected);
    expect(r.stderr).toMatch(/spans\s+15/);
  });

  it('refuses to read standard input twice (- -), which would wait for ever', () => {
    const r = vigil(['replay', '-', '-']);
    expect([r.code, r.stderr.trim()]).toEqual([1, 'vigil: standard input (-) can be read only once']);
  });

  it('stops quietly when its reader closes the pipe (`vigil replay … | head`)', async () => {
    const file = path.join(tmpDir(), 'many.jsonl');
    const specs: SpanSpec[] = Array.from({ length: 500 }, (_, i) => ({ name: 'GET', kind: 'client' as const,
      attributes: { 'http.request.method': 'GET', 'url.full': `https://api.example.com/items/${i}` } }));
    const lines = Array.from({ length: 20 }, () => encodeJson(makeSpans(specs, { resource: { 'service.name': 'svc', 'nhi.identity': 'spiffe://test/pipe' } })));
    fs.writeFileSync(file, lines.join('\n') + '\n'); // 10,000 actions: far more than a pipe holds
    const child = spawn(process.execPath, [CLI, 'replay', '--actions', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const code = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.stdout.destroy(); // what `head` does once it has its lines
    expect(await code).toBe(0);
    expect(stderr).not.toContain('EPIPE');
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

describe('vigil check-config', () => {
  it('prints the effective config of the repository config.yaml', () => {
    const r = vigil(['check-config']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('endpoint: 127.0.0.1:4317');
    expect(r.stderr).toBe(''); // loopback only: nothing exposed
  });

  // Review35 L3: a config emptied by a failed deploy moved the store and turned delivery off unseen.
  it('warns of a config file that sets nothing: valid all the same (every setting its default), exit 0', () => {
    const file = path.join(tmpDir(), 'emptied.yaml');
    fs.writeFileSync(file, '# truncated by a failed deploy\n');
    const r = vigil(['check-config', '--config', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`vigil: warning: ${file} sets nothing, so every setting is its default: the store at ${path.join(path.dirname(file), 'data/vigil.db')}, no webhooks, no credential revocation\n`);
    // A replay keeps no store and delivers nothing: the warning would mislead there (review37 note).
    const spans = path.join(path.dirname(file), 'none.jsonl');
    fs.writeFileSync(spans, '');
    const replayed = vigil(['replay', '--config', file, spans]);
    expect([replayed.code, replayed.stderr]).toEqual([0, expect.not.stringContaining('sets nothing')]);
  });

  // Review21 M3: the warnings serve logs at start were not shown by the command run before deploying.
  it('warns, as serve does, of settings that expose Vigil on a network: valid all the same, exit 0', () => {
    const file = path.join(tmpDir(), 'exposed.yaml');
    fs.writeFileSync(file, 'api:\n  endpoint: 0.0.0.0:8790\nreceivers:\n  otlp:\n    http:\n      endpoint: 0.0.0.0:4318\n');
    const r = vigil(['check-config', '--config', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('vigil check-config: warning: api.endpoint is reachable from other hosts without TLS');
    expect(r.stderr).toContain('vigil check-config: warning: receivers.otlp.http.endpoint is reachable from other hosts and admits anyone');
  });

  // Review31 L2: `vault.*` matches vault.attacker.example, so egress there reads as a write into secrets.
  it('warns of a zone glob ending in *, which outside hosts can match: valid all the same, exit 0', () => {
    const file = path.join(tmpDir(), 'zones.yaml');
    fs.writeFileSync(file, 'zones:\n  secrets: ["vault.*"]\n');
    const r = vigil(['check-config', '--config', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('vigil check-config: warning: zones.secrets[0] "vault.*" ends in *');
  });

  it('reports each problem with its key path, exit 1, no stack trace', () => {
    const file = path.join(tmpDir(), 'bad.yaml');
    fs.writeFileSync(file, 'webhooks:\n  - url: http://127.0.0.1:9000/hook\n    secret: nope\nreceivers:\n  otlp:\n    grcp: {}\n');
    const r = vigil(['check-config', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('webhooks[0].secret: must start with whsec_');
    expect(r.stderr).toContain('receivers.otlp.grcp');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects an unknown command with the usage', () => {
    const r = vigil(['frobnicate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Usage:');
  });

  it.each([
    [['serve', 'my.yaml'], "Unexpected argument 'my.yaml'", '--config FILE'],
    [['check-config', '--config'], "'--config <value>' argument missing", ''],
    [['check-config', '--config', 'config.yaml', 'extra'], "Unexpected argument 'extra'", ''],
    [['check-config', '--bogus'], "Unknown option '--bogus'", ''],
  ])('a mistaken argument (%j): one sentence and the usage, exit 1, no stack trace', (args, says, hint) => {
    const r = vigil(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(says);
    expect(r.stderr).toContain(hint);
    expect(r.stderr).toContain('Usage:');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('vigil serve', () => {
  let daemon: ServeProcess | undefined;
  afterEach(() => daemon?.child.kill('SIGKILL'));

  it('an endpoint it cannot listen on: one sentence naming the key, exit 1, no stack trace', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const busy = `127.0.0.1:${(taken.address() as net.AddressInfo).port}`;
    const cases: Array<[string, string, string]> = [
      [`grpc: { endpoint: "${busy}" }, http: { endpoint: "127.0.0.1:0" }`, `receivers.otlp.grpc.endpoint (${busy}): another process holds that port`, 'in use'],
      ['grpc: { endpoint: "127.0.0.1:0" }, http: { endpoint: "192.0.2.77:0" }', 'receivers.otlp.http.endpoint (192.0.2.77:0): this host has no such address', 'not here'],
      ['grpc: { endpoint: "192.0.2.77:0" }, http: { endpoint: "127.0.0.1:0" }', 'receivers.otlp.grpc.endpoint (192.0.2.77:0): this host has no such address', 'not here (gRPC)'],
      ['grpc: { endpoint: "nosuchhost.invalid:0" }, http: { endpoint: "127.0.0.1:0" }', 'receivers.otlp.grpc.endpoint (nosuchhost.invalid:0): the host name does not resolve', 'no such name'],
    ];
    try {
      for (const [receivers, message, what] of cases) {
        const config = path.join(tmpDir(), 'config.yaml');
        fs.writeFileSync(config, `storage: { path: ":memory:" }\napi: { endpoint: "127.0.0.1:0" }\nreceivers: { otlp: { ${receivers} } }\n`);
        const r = vigil(['serve', '--config', config], { VIGIL_API_TOKEN: 'test-token-0123456789abcdef' });
        expect(r.code, what).toBe(1);
        expect(r.stderr, what).toContain(`vigil: ${message}`);
        expect(r.stderr, what).not.toMatch(/\n\s+at /);
      }
    } finally {
      taken.close();
    }
  });

  it('an in-memory store without an API token is refused: a generated token would be kept nowhere', () => {
    const config = path.join(tmpDir(), 'config.yaml');
    fs.writeFileSync(config, 'storage: { path: ":memory:" }\napi: { endpoint: "127.0.0.1:0" }\nreceivers: { otlp: { grpc: { endpoint: "127.0.0.1:0" }, http: { endpoint: "127.0.0.1:0" } } }\n');
    // check-config says it before a start does (review28 L9: it passed what serve refused).
    for (const command of ['serve', 'check-config']) {
      const r = vigil([command, '--config', config], { VIGIL_API_TOKEN: '' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('vigil: api.token: set it (or VIGIL_API_TOKEN) when storage.path is ":memory:"');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('a storage.path that cannot be the store: one sentence naming storage.path, exit 1, no stack trace', () => {
    const cases: Array<[string, (file: string) => void, string]> = [
      ['a folder', (file) => fs.mkdirSync(file), 'it is a folder'],
      ['not SQLite', (file) => fs.writeFileSync(file, 'these are not the alerts you are looking for\n'.repeat(20)), 'not a SQLite database'],
      ['newer', (file) => new Database(file).pragma('user_version = 999'), 'written by a newer Vigil'],
      ['below a file', (file) => fs.writeFileSync(path.dirname(file), ''), 'part of its folder path is a file'],
      // Node 20's recursive mkdir spins forever here; the daemon must fail at once instead.
      ['below /proc', () => {}, 'its folder cannot be created'],
    ];
    for (const [what, make, reason] of cases) {
      const dir = tmpDir();
      const file = what === 'below /proc' ? `/proc/vigil-test-${process.pid}/vigil.db` : path.join(dir, what === 'below a file' ? 'afile/vigil.db' : 'vigil.db');
      make(file);
      const config = path.join(dir, 'config.yaml');
      fs.writeFileSync(config, `storage: { path: "${file}" }\napi: { endpoint: "127.0.0.1:0" }\nreceivers: { otlp: { grpc: { endpoint: "127.0.0.1:0" }, http: { endpoint: "127.0.0.1:0" } } }\n`);
      const r = vigil(['serve', '--config', config], { VIGIL_API_TOKEN: 'test-token-0123456789abcdef' });
      expect(r.code, what).toBe(1);
      expect(r.stderr, what).toContain(`cannot use storage.path (${file}): `);
      expect(r.stderr, what).toContain(reason);
      expect(r.stderr, what).not.toMatch(/\n\s+at /);
    }
  });

  it('a store damaged inside, or write-locked by another program: one sentence, exit 1, no stack trace (review35 M3)', async () => {
    const start = (file: string) => {
      const config = path.join(path.dirname(file), 'config.yaml');
      fs.writeFileSync(config, `storage: { path: "${file}" }\napi: { endpoint: "127.0.0.1:0" }\nreceivers: { otlp: { grpc: { endpoint: "127.0.0.1:0" }, http: { endpoint: "127.0.0.1:0" } } }\n`);
      return vigil(['serve', '--config', config], { VIGIL_API_TOKEN: 'test-token-0123456789abcdef' });
    };
    // A store whose peer baselines' page is overwritten: it opens, then fails as the detection engine loads it.
    const damaged = path.join(tmpDir(), 'vigil.db');
    const { openDatabase } = await import('../../src/store/database.js');
    const db = openDatabase(damaged);
    const root = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'peer_baselines'").pluck().get() as number;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const fd = fs.openSync(damaged, 'r+');
    fs.writeSync(fd, Buffer.alloc(pageSize, 0xab), 0, pageSize, (root - 1) * pageSize);
    fs.closeSync(fd);
    // A store another program holds a write transaction on (a sqlite3 shell): Vigil's claim passes, its first write waits, then fails.
    const locked = path.join(tmpDir(), 'vigil.db');
    openDatabase(locked).close();
    const holder = new Database(locked);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      for (const [file, reason] of [[damaged, 'it is damaged'], [locked, 'another program holds a write lock on it']]) {
        const r = start(file);
        expect(r.code, reason).toBe(1);
        expect(r.stderr, reason).toContain(`vigil: cannot use storage.path (${file}): ${reason}`);
        expect(r.stderr, reason).not.toMatch(/\n\s+at /);
        expect(r.stderr, reason).not.toContain('store commit failed');
      }
    } finally {
      holder.close();
    }
  });

  async function exportSpans(grpc: string, identity: string, n: number): Promise<void> {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'cli-test', 'nhi.identity': identity }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://${grpc}` }))],
    });
    const tracer = provider.getTracer('cli-test');
    for (let i = 0; i < n; i++) tracer.startSpan('GET', { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'GET', 'url.full': `https://api.example.com/items/${i}` } }).end();
    await provider.forceFlush();
    await provider.shutdown();
  }


  it('generates an API token file (0600), serves, and shuts down cleanly on SIGTERM', async () => {
    const dir = tmpDir();
    daemon = await serve(dir);
    const { grpc, api } = daemon;
    const tokenFile = path.join(dir, 'state/api-token');
    expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
    // The folder and the store it made are the owner's alone: alerts name identities and credentials.
    const mode = (f: string) => fs.statSync(path.join(dir, f)).mode & 0o777;
    expect([mode('state'), mode('state/vigil.db'), mode('state/vigil.db-wal'), mode('state/vigil.db-lock')]).toEqual([0o700, 0o600, 0o600, 0o600]);
    const token = fs.readFileSync(tokenFile, 'utf8').trim();
    expect((await fetch(`http://${api}/metrics`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    await exportSpans(grpc, 'spiffe://test/serve', 3);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    const row = new Database(path.join(dir, 'state/vigil.db'), { readonly: true }).prepare('SELECT actions FROM identities').get();
    expect(row).toEqual({ actions: 3 });
  });

  it('keeps serving through SIGHUP (a closed terminal, a supervisor reload), saying so in the log', async () => {
    const dir = tmpDir();
    daemon = await serve(dir);
    daemon.child.kill('SIGHUP');
    await waitFor(() => daemon!.stderr().includes('SIGHUP ignored'), 'the SIGHUP log line');
    await exportSpans(daemon.grpc, 'spiffe://test/hangup', 2);
    expect((await fetch(`http://${daemon.api}/healthz`)).status).toBe(200);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    const db = new Database(path.join(dir, 'state/vigil.db'), { readonly: true });
    expect(db.prepare('SELECT identity, actions FROM identities').all()).toEqual([{ identity: 'spiffe://test/hangup', actions: 2 }]);
    db.close();
  });

  it('an unforeseen fault: logged as a fatal JSON line with its stack, then exit 70 for the supervisor', async () => {
    const dir = tmpDir();
    // The fault is injected from outside the daemon's code: a preloaded module rejects a promise nobody
    // awaits when the test asks for it (SIGUSR2), as a bug in some callback would.
    const preload = path.join(dir, 'fault.mjs');
    fs.writeFileSync(preload, "process.on('SIGUSR2', () => { Promise.reject(new Error('injected fault')); });\n");
    daemon = await serve(dir, '', { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` });
    daemon.child.kill('SIGUSR2');
    expect(await daemon.exited).toBe(70);
    const fatal = daemon.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((l) => l.level === 60);
    expect(fatal).toMatchObject({ msg: expect.stringContaining('unexpected error; exiting'), err: { message: 'injected fault' } });
    expect(fatal.err.stack).toContain('fault.mjs');
  });

  it('refuses a store another Vigil is using (serve, replay --db) without disturbing it; kill -9 frees it', async () => {
    const dir = tmpDir();
    daemon = await serve(dir);
    const store = path.join(dir, 'state/vigil.db');
    const config = path.join(tmpDir(), 'config.yaml');
    fs.writeFileSync(config, `storage: { path: "${store}" }\napi: { endpoint: "127.0.0.1:0" }\nreceivers: { otlp: { grpc: { endpoint: "127.0.0.1:0" }, http: { endpoint: "127.0.0.1:0" } } }\n`);
    const second = vigil(['serve', '--config', config], { VIGIL_API_TOKEN: 'test-token-0123456789abcdef' });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`vigil: cannot use storage.path (${store}): another Vigil process (serve, or replay --db) is using it`);
    expect(second.stderr).not.toMatch(/\n\s+at /);
    const replay = vigil(['replay', '--db', store, path.join(GOLDEN, 'agent-traces.otlp.jsonl')]);
    expect(replay.code).toBe(1);
    expect(replay.stderr).toContain(`cannot use --db (${store}): another Vigil process`);

    await exportSpans(daemon.grpc, 'spiffe://test/owner', 4); // the first daemon still serves and stores
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    daemon = await serve(dir); // the kernel dropped the lock with the process: nothing stale to clean up
    // The lock database keeps a plain rollback journal, not WAL files of its own.
    expect(fs.readdirSync(path.join(dir, 'state')).filter((f) => /^vigil\.db-lock-(wal|shm)$/.test(f))).toEqual([]);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    const db = new Database(store, { readonly: true });
    expect(db.prepare('SELECT identity, actions FROM identities').all()).toEqual([{ identity: 'spiffe://test/owner', actions: 4 }]);
    db.close();
  });

  it('loses no acknowledged export on kill -9', async () => {
    const dir = tmpDir();
    daemon = await serve(dir);
    await exportSpans(daemon.grpc, 'spiffe://test/durable', 25); // each export resolved => acknowledged
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    const db = new Database(path.join(dir, 'state/vigil.db'), { readonly: true });
    expect(db.prepare('SELECT identity, actions FROM identities').all()).toEqual([{ identity: 'spiffe://test/durable', actions: 25 }]);
  });
});
