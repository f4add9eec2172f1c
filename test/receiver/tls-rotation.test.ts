/**
 * Certificates are short-lived: when the files a listener's `tls` names are renewed, new connections get
 * the new certificate without a restart (the daemon looks every 30 s; the test calls `check()` itself).
 * A renewal that does not load is logged and the certificate in use is kept. Real HTTPS and gRPC servers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { grpcCredentials } from '../../src/receiver/grpc-tls.js';
import { createHttpServer, TlsFiles, type TlsConfig } from '../../src/tls.js';
import { pem, tlsFile } from '../helpers/tls.js';

const ca = pem('ca');

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The server certificate `name` copied where a listener's config points, and a logger to read. */
function setUp() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-tls-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cfg: TlsConfig = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  const install = (name: string) => {
    fs.copyFileSync(tlsFile(name), cfg.cert);
    fs.copyFileSync(tlsFile(`${name}-key`), cfg.key);
  };
  install('server');
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }));
  return { cfg, install, logs, logger };
}

/** The subject CN of the certificate a fresh TLS connection to `port` is shown. */
function servedCn(port: number, alpn?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', ca, ...(alpn ? { ALPNProtocols: [alpn] } : {}) }, () => {
      resolve(String(socket.getPeerCertificate().subject.CN));
      socket.end();
    });
    socket.on('error', reject);
  });
}

it('an HTTPS listener serves the renewed certificate, and keeps its own when a renewal is broken', async () => {
  const { cfg, install, logs, logger } = setUp();
  const listener = createHttpServer(cfg, 'api', logger, {}, (_req, res) => res.end('ok'));
  const { server, files } = listener;
  cleanups.push(() => listener.close(0));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  expect(await servedCn(port)).toBe('vigil test server');

  expect(files!.check()).toBe(false); // nothing changed
  install('server2');
  expect(files!.check()).toBe(true);
  expect(await servedCn(port)).toBe('vigil test server (rotated)');

  // Half a renewal: the old key with a new certificate. Logged; the rotated certificate stays in use.
  fs.copyFileSync(tlsFile('server-key'), cfg.key);
  expect(files!.check()).toBe(false);
  expect(await servedCn(port)).toBe('vigil test server (rotated)');
  expect(logs.some((l) => l.includes('renewed TLS files not loaded') && l.includes('is not the key of'))).toBe(true);
});

it('the gRPC listener serves the renewed certificate', async () => {
  const { cfg, install, logger } = setUp();
  const files = new TlsFiles(cfg, 'otlp-grpc', logger);
  const server = new grpc.Server();
  cleanups.push(() => server.forceShutdown(), () => files.close());
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpcCredentials(files), (err, p) => (err ? reject(err) : resolve(p))),
  );
  expect(await servedCn(port, 'h2')).toBe('vigil test server');
  install('server2');
  expect(files.check()).toBe(true);
  await new Promise((r) => setImmediate(r)); // grpc-js applies the update from its listener
  expect(await servedCn(port, 'h2')).toBe('vigil test server (rotated)');
});
