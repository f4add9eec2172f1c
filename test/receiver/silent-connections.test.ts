/**
 * A connection that never sends a byte is closed after `silentMs` (the API; the OTLP receivers with the
 * shorter of 30 s and their request timeout): Node's and grpc-js's own timeouts start with a request's
 * first byte, so such sockets, each a file descriptor, would stay for as long as the client likes. One that
 * has spoken is left to the usual keep-alive and request timeouts. Real HTTP and HTTPS servers.
 */
import net from 'node:net';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { createHttpServer, type HttpListener } from '../../src/tls.js';
import { SERVER_TLS } from '../helpers/tls.js';
import { startTestDaemon } from '../helpers/daemon.js';

const SILENT_MS = 300;
const listeners: HttpListener[] = [];
afterEach(async () => {
  for (const l of listeners.splice(0)) await l.close(0);
});

async function listen(tls: typeof SERVER_TLS | undefined): Promise<number> {
  const listener = createHttpServer(tls, 'api', pino({ level: 'silent' }), { keepAliveTimeout: 60_000 }, (_req, res) => res.end('ok'), SILENT_MS);
  listeners.push(listener);
  await new Promise<void>((r) => listener.server.listen(0, '127.0.0.1', r));
  return (listener.server.address() as net.AddressInfo).port;
}

/** Connects; `speak` sends a request first. Resolves with whether the server closed it within `withinMs`. */
function closedWithin(port: number, withinMs: number, speak: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      if (speak) socket.write('GET / HTTP/1.1\r\nHost: vigil\r\n\r\n');
    });
    socket.on('error', () => {});
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, withinMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.resume(); // read (and drop) the response
  });
}

it.each([['HTTP', undefined], ['HTTPS', SERVER_TLS]] as const)('%s: a connection that sends nothing is closed', async (_name, tls) => {
  expect(await closedWithin(await listen(tls), 10 * SILENT_MS + 5_000, false)).toBe(true);
});

it('a connection that has sent a request stays open past the silence limit (keep-alive)', async () => {
  expect(await closedWithin(await listen(undefined), 5 * SILENT_MS, true)).toBe(false);
});

it('both OTLP receivers close a silent connection within their request timeout (gRPC: before any HTTP/2 preface)', async () => {
  const t = await startTestDaemon({ receivers: { otlp: { requestTimeout: '1s' } } });
  try {
    const { http, grpc } = t.daemon.ports;
    expect(await Promise.all([closedWithin(http, 10_000, false), closedWithin(grpc, 10_000, false)])).toEqual([true, true]);
  } finally {
    await t.close();
  }
});
