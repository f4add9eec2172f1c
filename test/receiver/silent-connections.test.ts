/**
 * A connection that never sends a byte is closed after `silentMs` (the API; the OTLP receivers with the
 * shorter of 30 s and their request timeout): Node's and grpc-js's own timeouts start with a request's
 * first byte, so such sockets, each a file descriptor, would stay for as long as the client likes. One that
 * has spoken is left to the usual keep-alive and request timeouts. On the gRPC port, a connection with no
 * call in progress is closed after the same limit (10 s at the least), and a TLS handshake must finish
 * within 10 s. Real HTTP and HTTPS servers, the real daemon and the real OpenTelemetry gRPC exporter.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpListener } from '../../src/tls.js';
import { makeSpans } from '../helpers/otlp-payloads.js';
import { SERVER_TLS } from '../helpers/tls.js';
import { startTestDaemon, waitFor } from '../helpers/daemon.js';

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

/**
 * Connects (`connect` may do so over TLS); `speak` sends a request first, `say` any bytes. Resolves with
 * whether the server closed it within `withinMs`.
 */
function closedWithin(port: number, withinMs: number, speak: boolean, say = '', connect = plainConnect): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, () => {
      if (speak) socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
      else if (say !== '') socket.write(say);
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

const plainConnect = (port: number, onConnect: () => void): net.Socket => net.connect(port, '127.0.0.1', onConnect);
/** A TLS client that offers HTTP/2 (as gRPC clients do) and completes its handshake. */
const tlsConnect = (port: number, onConnect: () => void): net.Socket =>
  tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['h2'] }, onConnect);

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

describe('the gRPC receiver closes connections that hold no call, after 10 s at the least', () => {
  const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

  it.concurrent('one that stops inside its HTTP/2 preface, or right after it', async () => {
    const t = await startTestDaemon({ receivers: { otlp: { requestTimeout: '1s' } } });
    try {
      const { grpc } = t.daemon.ports;
      // grpc-js checks idleness on a timer of the limit's period: the close comes 10 to 20 s in.
      const closed = await Promise.all([closedWithin(grpc, 30_000, false, 'P'), closedWithin(grpc, 30_000, false, PREFACE)]);
      expect(closed).toEqual([true, true]);
    } finally {
      await t.close();
    }
  }, 40_000);

  it.concurrent('over TLS: one that completes its handshake and then says nothing, and one that stops inside its handshake', async () => {
    const t = await startTestDaemon({ receivers: { otlp: { requestTimeout: '1s', grpc: { tls: SERVER_TLS } } } });
    try {
      const { grpc } = t.daemon.ports;
      const [afterHandshake, inHandshake] = await Promise.all([
        closedWithin(grpc, 30_000, false, '', tlsConnect),
        // 0x16: the first byte of a TLS handshake record. The handshake limit is 10 s.
        closedWithin(grpc, 30_000, false, '\x16'),
      ]);
      expect({ afterHandshake, inHandshake }).toEqual({ afterHandshake: true, inHandshake: true });
    } finally {
      await t.close();
    }
  }, 40_000);

  it.concurrent('an exporter keeps its connection between exports 2.5 s apart, and reconnects without an error once it was closed', async () => {
    const t = await startTestDaemon({ receivers: { otlp: { requestTimeout: '1s' } } });
    // A TCP relay in front of the receiver counts the exporter's connections.
    let connections = 0;
    let closedByDaemon = () => {};
    const firstClosed = new Promise<void>((r) => (closedByDaemon = r));
    const relay = net.createServer((client) => {
      connections++;
      const upstream = net.connect(t.daemon.ports.grpc, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      upstream.on('end', () => closedByDaemon());
      for (const s of [client, upstream]) s.on('error', () => {}).on('close', () => (client.destroy(), upstream.destroy()));
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const exporter = new GrpcExporter({ url: `http://127.0.0.1:${(relay.address() as net.AddressInfo).port}` });
    const exportAs = (identity: string) =>
      new Promise<ExportResult>((resolve) =>
        exporter.export(makeSpans([{ name: 'execute_tool crm.search', attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'crm.search' } }], { resource: { 'service.name': 'support-agent', 'nhi.identity': identity } }), resolve),
      );
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      expect((await exportAs('spiffe://acme.example/agent/idle-1')).code).toBe(ExportResultCode.SUCCESS);
      await pause(2_500); // past the 1 s request timeout, within the 10 s floor of the idle limit
      expect((await exportAs('spiffe://acme.example/agent/idle-2')).code).toBe(ExportResultCode.SUCCESS);
      expect(connections).toBe(1);
      // grpc-js checks idleness on a timer of the limit's period, so the close comes 10 to 20 s after the last call.
      await firstClosed;
      const again = await exportAs('spiffe://acme.example/agent/idle-3');
      expect(again.error).toBeUndefined();
      expect(again.code).toBe(ExportResultCode.SUCCESS);
      expect(connections).toBe(2);
      await waitFor(() => t.actions.some((a) => a.identity === 'spiffe://acme.example/agent/idle-3'), 'the third export\'s action');
    } finally {
      await exporter.shutdown();
      relay.close();
      await t.close();
    }
  }, 40_000);
});

it('the HTTP receiver answers a request stalled in its headers or body soon after its request timeout (408), not up to 30 s later', async () => {
  const t = await startTestDaemon({ receivers: { otlp: { requestTimeout: '2s' } } });
  try {
    const { http } = t.daemon.ports;
    const stall = (what: string) =>
      new Promise<{ answer: string; closed: boolean }>((resolve) => {
        let answer = '';
        const socket = net.connect(http, '127.0.0.1', () => socket.write(what));
        socket.on('data', (c) => (answer += c));
        socket.on('error', () => {});
        const timer = setTimeout(() => {
          socket.destroy();
          resolve({ answer, closed: false });
        }, 10_000); // Node checks its timeouts every 30 s by default
        socket.on('close', () => {
          clearTimeout(timer);
          resolve({ answer, closed: true });
        });
      });
    const [inBody, inHeaders] = await Promise.all([
      stall('POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\nabc'),
      stall('POST /v1/traces HTTP/1.1\r\nHost: localhost\r\n'),
    ]);
    expect(inBody.closed).toBe(true);
    expect(inBody.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(inHeaders.closed).toBe(true);
  } finally {
    await t.close();
  }
}, 20_000);
