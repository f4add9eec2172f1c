/**
 * Hostile request-targets against the compiled daemon in its own process, over raw sockets: fetch and ws
 * would normalise the targets we need to send, and only a separate process shows that a request which
 * throws outside every try takes the whole daemon down (it once did: `new URL('//x:99999', base)` reads
 * `x:99999` as a host and throws on the port, unauthenticated, in the API's request and upgrade paths).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { serve, type ServeProcess } from '../helpers/serve-process.js';

const TOKEN = 'test-token-0123456789abcdef';
let d: ServeProcess | undefined;
afterEach(() => {
  d?.child.kill('SIGKILL');
  d = undefined;
});

async function start(): Promise<ServeProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-api-hostile-'));
  d = await serve(dir, '', { VIGIL_API_TOKEN: TOKEN });
  return d;
}

/** Sends raw bytes to host:port; resolves with the status line of the answer ('' when the socket closed without one). */
function statusLine(hostPort: string, text: string): Promise<string> {
  const i = hostPort.lastIndexOf(':');
  return new Promise((resolve) => {
    let out = '';
    const s = net.connect(Number(hostPort.slice(i + 1)), hostPort.slice(0, i), () => s.write(text));
    s.on('data', (c) => {
      out += c;
      // Kept-alive connections stay open after the answer: the status line is all we read.
      if (out.includes('\r\n')) {
        s.destroy();
        resolve(out.split('\r\n')[0]);
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve(out.split('\r\n')[0]));
  });
}

const request = (target: string) => `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;
const upgrade = (target: string) =>
  `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`;

/** The process is alive and its API answers. */
async function apiServing(p: ServeProcess): Promise<boolean> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return false;
  const res = await fetch(`http://${p.api}/healthz`).catch(() => null);
  return res?.status === 200;
}

it('answers API requests whose target new URL() cannot parse with 4xx, and keeps serving', async () => {
  const p = await start();
  // Origin-form is a path (RFC 9112 §3.2.1), even one starting with `//`: there is no such route.
  expect(await statusLine(p.api, request('//x:99999'))).toBe('HTTP/1.1 404 Not Found');
  // Absolute-form whose port is out of range: not a URL at all.
  expect(await statusLine(p.api, request('http://x:99999/v1/alerts'))).toBe('HTTP/1.1 400 Bad Request');
  expect(await apiServing(p)).toBe(true);
});

it('answers websocket upgrades whose target new URL() cannot parse with 4xx, and keeps serving', async () => {
  const p = await start();
  expect(await statusLine(p.api, upgrade('//x:99999'))).toBe('HTTP/1.1 404 Not Found');
  expect(await statusLine(p.api, upgrade('http://x:99999/v1/alerts/stream'))).toBe('HTTP/1.1 400 Bad Request');
  expect(await apiServing(p)).toBe(true);
});

it('the OTLP/HTTP receiver answers the same targets with 404 and keeps accepting exports', async () => {
  const p = await start();
  expect(await statusLine(p.http, request('//x:99999'))).toBe('HTTP/1.1 404 Not Found');
  expect(await statusLine(p.http, upgrade('http://x:99999/v1/traces'))).toBe('HTTP/1.1 404 Not Found');
  const res = await fetch(`http://${p.http}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  expect(res.status).toBe(200);
});
