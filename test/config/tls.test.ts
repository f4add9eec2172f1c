/**
 * TLS files are checked at config load, so a bad one stops the start with its key path (src/tls.ts):
 * a damaged certificate (a truncated download, a bad paste) is reported against the key that names it.
 * Regressions: a damaged `clientCa` used to load (Node skips CA bytes it cannot parse, and mutual TLS
 * then refused every client), and a damaged `cert` was reported against `key`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { tlsFile } from '../helpers/tls.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A copy of fixture `name` whose base64 body is damaged (a truncated download, a bad paste). */
function damaged(dir: string, name: string): string {
  const lines = fs.readFileSync(tlsFile(name), 'utf8').trim().split('\n');
  const out = path.join(dir, `damaged-${name}.pem`);
  fs.writeFileSync(out, [lines[0], ...lines.slice(1, -1).map((l) => [...l].reverse().join('')), lines.at(-1)].join('\n') + '\n');
  return out;
}

function problems(yaml: string, dir: string): string[] {
  const file = path.join(dir, 'vigil.yaml');
  fs.writeFileSync(file, yaml);
  try {
    loadConfig({ path: file, env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-config-tls-'));
  dirs.push(dir);
  return dir;
}

it('a clientCa that holds no usable certificate stops the start, with its key path', () => {
  const dir = tmp();
  const ca = damaged(dir, 'ca');
  const found = problems(
    `receivers: { otlp: { http: { tls: { cert: "${tlsFile('server')}", key: "${tlsFile('server-key')}", clientCa: "${ca}" } } } }\n`,
    dir,
  );
  expect(found).toEqual([`receivers.otlp.http.tls.clientCa: ${ca} holds a certificate that does not parse (the first of 1)`]);
});

it('a cert that does not parse is reported against cert, not key', () => {
  const dir = tmp();
  const cert = damaged(dir, 'server');
  const found = problems(`api: { tls: { cert: "${cert}", key: "${tlsFile('server-key')}" } }\n`, dir);
  expect(found).toEqual([`api.tls.cert: ${cert} holds a certificate that does not parse (the first of 1)`]);
});


it('every TLS file that cannot be read is named at once, each with its key path', () => {
  const found = problems('receivers: { otlp: { http: { tls: { cert: nocert.pem, key: nokey.pem, clientCa: noca.pem } } } }\n', tmp());
  expect(found).toEqual([
    'receivers.otlp.http.tls.cert: cannot read nocert.pem (no such file)',
    'receivers.otlp.http.tls.key: cannot read nokey.pem (no such file)',
    'receivers.otlp.http.tls.clientCa: cannot read noca.pem (no such file)',
  ]);
});
