/**
 * Hostile and malformed input against the real receivers over real sockets: each gets the status the
 * OTLP specification gives it, and the daemon still accepts a valid export afterwards.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeJson, encodeProtobuf, makeSpans, parseProtobufResponse, seededRandom } from '../helpers/otlp-payloads.js';
import { metricValue, startTestDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { postRepeatedly } from '../helpers/keep-alive.js';

const LIMIT = 256 * 1024;
let t: TestDaemon;

beforeAll(async () => {
  t = await startTestDaemon({ receivers: { otlp: { maxRequestBytes: LIMIT } }, ingest: { queueSpans: 64 } });
});
afterAll(() => t.close());

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A raw HTTP POST: fetch would refuse some of the hostile requests we need to send. */
function post(path: string, body: Buffer | string, headers: Record<string, string>, base = t.httpUrl): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    // The server may close the connection after answering an oversized body; the answer is what we test.
    req.on('error', reject);
    req.end(body);
  });
}

const PROTO = { 'Content-Type': 'application/x-protobuf' };
const JSON_CT = { 'Content-Type': 'application/json' };

function validSpans(identity = 'spiffe://test/agent') {
  return makeSpans(
    [{ name: 'GET', kind: 'client', attributes: { 'http.request.method': 'GET', 'url.full': 'https://api.example.com/v1/items/42' } }],
    { resource: { 'service.name': 'billing-agent', 'nhi.identity': identity } },
  );
}

/** The daemon still works: a valid export is accepted in full. */
async function expectStillServing(): Promise<void> {
  const res = await post('/v1/traces', Buffer.from(encodeProtobuf(validSpans())), PROTO);
  expect(res.status).toBe(200);
  expect(parseProtobufResponse(res.body).partialSuccess?.rejectedSpans ?? 0).toEqual(0);
}

describe('OTLP/HTTP hostile input', () => {
  afterEach(expectStillServing);

  it('random bytes as protobuf -> 400 with a google.rpc.Status body', async () => {
    const rand = seededRandom(7);
    const junk = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(rand() * 256)));
    junk[0] = 0x0a; // field 1, length-delimited, so the decoder must look inside before failing
    junk[1] = 0xff;
    const res = await post('/v1/traces', junk, PROTO);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
  });

  it('truncated protobuf -> 400', async () => {
    const full = Buffer.from(encodeProtobuf(validSpans()));
    const res = await post('/v1/traces', full.subarray(0, full.length - 7), PROTO);
    expect(res.status).toBe(400);
  });

  it('a large export decoded in the ingest worker: truncated -> 400, bad ids -> partial success', async () => {
    // Large exports travel in bulk messages to the worker (src/ingest/export-queue.ts dispatch): the answers must not change.
    const many = makeSpans(
      Array.from({ length: 400 }, (_, i) => ({ name: 'GET', kind: 'client' as const, attributes: { 'http.request.method': 'GET', 'url.full': `https://api.example.com/items/${i}` } })),
      { resource: { 'service.name': 'billing-agent', 'nhi.identity': 'spiffe://test/large' } },
    );
    const full = Buffer.from(encodeProtobuf(many));
    expect((await post('/v1/traces', full.subarray(0, full.length - 7), PROTO)).status).toBe(400);

    const body = JSON.parse(encodeJson(many));
    body.resourceSpans[0].scopeSpans[0].spans[0].traceId = 'xyz';
    const res = await post('/v1/traces', JSON.stringify(body), JSON_CT);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString()).partialSuccess).toMatchObject({ rejectedSpans: '1' });
  });

  it('invalid JSON -> 400 with a JSON Status', async () => {
    const res = await post('/v1/traces', '{"resourceSpans": [', JSON_CT);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: 3 });
  });

  it('wrong content type -> 415', async () => {
    const res = await post('/v1/traces', 'hello', { 'Content-Type': 'text/plain' });
    expect(res.status).toBe(415);
  });

  it('unsupported content encoding -> 415', async () => {
    const res = await post('/v1/traces', Buffer.from(encodeProtobuf(validSpans())), { ...PROTO, 'Content-Encoding': 'br' });
    expect(res.status).toBe(415);
  });

  it('gzip bomb -> 413 after inflating no more than the limit', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros in ~64 KiB
    expect(bomb.length).toBeLessThan(LIMIT);
    const res = await post('/v1/traces', bomb, { ...PROTO, 'Content-Encoding': 'gzip' });
    expect(res.status).toBe(413);
  });

  it('corrupt gzip -> 400', async () => {
    const res = await post('/v1/traces', Buffer.from('this is not gzip'), { ...PROTO, 'Content-Encoding': 'gzip' });
    expect(res.status).toBe(400);
  });

  it('oversize body with Content-Length -> 413 before reading it', async () => {
    const res = await post('/v1/traces', Buffer.alloc(LIMIT + 1), PROTO);
    expect(res.status).toBe(413);
  });

  // The answer goes out while the client is still sending: closing the connection then would reset it,
  // often before the client reads the 413 (and an exporter may retry what can never fit).
  it('oversize body: the client reads the 413 and keeps its connection, however fast it sends', async () => {
    const { outcomes, connections } = await postRepeatedly(`${t.httpUrl}/v1/traces`, PROTO, Buffer.alloc(2 * LIMIT), 10);
    expect(outcomes).toEqual(Array(10).fill(413));
    expect(connections).toBe(1);
  });

  it('oversize chunked body (no Content-Length) -> 413', async () => {
    const res = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${t.httpUrl}/v1/traces`, { method: 'POST', headers: PROTO }, (r) => {
        r.resume();
        resolve(r.statusCode!);
      });
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write(Buffer.alloc(LIMIT / 4));
      req.end();
    });
    expect(res).toBe(413);
  });

  it('empty protobuf request is a valid export of nothing -> 200', async () => {
    const res = await post('/v1/traces', Buffer.alloc(0), PROTO);
    expect(res.status).toBe(200);
  });

  it('empty JSON body -> 400, `{}` -> 200', async () => {
    expect((await post('/v1/traces', '', JSON_CT)).status).toBe(400);
    expect((await post('/v1/traces', '{}', JSON_CT)).status).toBe(200);
  });

  it('bad ids -> 200 with partial success naming the reason', async () => {
    const body = JSON.parse(encodeJson(validSpans()));
    const span = body.resourceSpans[0].scopeSpans[0].spans[0];
    body.resourceSpans[0].scopeSpans[0].spans.push({ ...span, traceId: 'xyz' }, { ...span, spanId: '00000000' });
    const res = await post('/v1/traces', JSON.stringify(body), JSON_CT);
    expect(res.status).toBe(200);
    const reply = JSON.parse(res.body.toString());
    expect(Number(reply.partialSuccess.rejectedSpans)).toBe(2);
    expect(reply.partialSuccess.errorMessage).toMatch(/invalid_trace_id/);
    expect(reply.partialSuccess.errorMessage).toMatch(/invalid_span_id/);
  });

  it('spans without any identity -> partial success no_identity', async () => {
    const spans = makeSpans([{ name: 'GET', kind: 'client', attributes: { 'http.request.method': 'GET' } }], { resource: {} });
    const res = await post('/v1/traces', Buffer.from(encodeProtobuf(spans)), PROTO);
    expect(res.status).toBe(200);
    const reply = parseProtobufResponse(res.body);
    expect(Number(reply.partialSuccess?.rejectedSpans)).toBe(1);
    expect(reply.partialSuccess?.errorMessage).toMatch(/no_identity/);
  });

  it('an identity longer than 2048 characters -> partial success identity_too_long', async () => {
    const res = await post('/v1/traces', Buffer.from(encodeProtobuf(validSpans(`spiffe://test/${'a'.repeat(100_000)}`))), PROTO);
    expect(res.status).toBe(200);
    const reply = parseProtobufResponse(res.body);
    expect(Number(reply.partialSuccess?.rejectedSpans)).toBe(1);
    expect(reply.partialSuccess?.errorMessage).toMatch(/identity_too_long/);
    await expectStillServing();
  });

  // Every name is a key of the store (once per peer-group member for peer items): unbounded, a few
  // exports of megabyte names filled gigabytes of disk.
  it('names longer than 256 characters are bounded, scopes to 64, and an outsized credential id is dropped', async () => {
    const long = (c: string) => c.repeat(20_000); // all of them within this file's 256 KiB request limit
    const spans = makeSpans(
      [
        { name: 'execute_tool', kind: 'internal', attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': `tool.${long('t')}`, 'gen_ai.tool.call.id': long('c') } },
        { name: 'GET', kind: 'client', attributes: { 'http.request.method': 'GET', 'url.full': `https://${long('h')}.example.com/items` } },
      ],
      {
        resource: {
          'service.name': `svc-${long('s')}`,
          'nhi.identity': 'spiffe://test/long-names',
          'nhi.scopes': Array.from({ length: 1000 }, (_, i) => `scope-${i}`),
          'nhi.credential.id': long('j'),
        },
      },
    );
    const res = await post('/v1/traces', Buffer.from(encodeProtobuf(spans)), PROTO);
    expect(res.status).toBe(200);
    const actions = await waitFor(() => {
      const found = t.actions.filter((a) => a.identity === 'spiffe://test/long-names');
      return found.length === 2 ? found : null;
    }, 'both actions');
    for (const a of actions) {
      expect(a.peerGroup).toMatch(/^svc-s+…[0-9a-f]{16}$/);
      expect(a.peerGroup.length).toBeLessThanOrEqual(256);
      expect(a.target.length).toBeLessThanOrEqual(256);
      expect(a.scopes).toHaveLength(64);
      expect(a.credential).toBeNull();
    }
    expect(actions.find((a) => a.kind === 'tool')!.target).toMatch(/^tool\.t+…[0-9a-f]{16}$/);
    expect(actions.find((a) => a.kind === 'http')!.host!.length).toBeLessThanOrEqual(256);
  });

  it('a lone surrogate escaped in OTLP/JSON is replaced, as invalid UTF-8 is', async () => {
    const json = encodeJson(validSpans('spiffe://test/surrogate-@'));
    const res = await post('/v1/traces', json.replace('surrogate-@', 'surrogate-\\ud800x'), JSON_CT);
    expect(res.status).toBe(200);
    const action = await waitFor(() => t.actions.find((a) => a.identity.startsWith('spiffe://test/surrogate-')), 'the span’s action');
    expect(action.identity).toBe('spiffe://test/surrogate-\uFFFDx');
  });

  it('invalid UTF-8 in a string is replaced, the span kept', async () => {
    const json = encodeJson(validSpans('spiffe://test/utf8-agent'));
    const bytes = Buffer.from(json.replace('utf8-agent', 'utf8-\u0001gent'));
    bytes[bytes.indexOf(0x01)] = 0xff; // a lone 0xFF is never valid UTF-8
    const res = await post('/v1/traces', bytes, JSON_CT);
    expect(res.status).toBe(200);
    expect(Number(JSON.parse(res.body.toString()).partialSuccess?.rejectedSpans ?? 0)).toBe(0);
    // The span's action names the identity with U+FFFD where the bad byte was.
    const action = await waitFor(() => t.actions.find((a) => a.identity.startsWith('spiffe://test/utf8-')), 'the span’s action');
    expect(action.identity).toBe('spiffe://test/utf8-\uFFFDgent');
  });

  it('wrong path -> 404, wrong method -> 405', async () => {
    expect((await post('/v1/metrics', '{}', JSON_CT)).status).toBe(404);
    const get = await fetch(`${t.httpUrl}/v1/traces`);
    expect(get.status).toBe(405);
  });

  it('a full queue -> 503 with Retry-After, nothing kept; a small export still has room', async () => {
    t.daemon.pipeline.exports.pause();
    try {
      const bulk = (n: number) =>
        Buffer.from(encodeProtobuf(makeSpans(Array.from({ length: n }, () => ({ name: 'GET', kind: 'client' as const, attributes: { 'http.request.method': 'GET' } })), { resource: { 'service.name': 'filler' } })));
      const first = post('/v1/traces', bulk(100), PROTO); // more than the whole queue: admitted into an empty one; waits
      await expect.poll(() => t.daemon.pipeline.exports.depth).toBe(100);
      const second = await post('/v1/traces', bulk(65), PROTO);
      expect(second.status).toBe(503);
      expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // One agent's small export is not locked out by the large one being processed.
      const small = post('/v1/traces', Buffer.from(encodeProtobuf(validSpans())), PROTO);
      await expect.poll(() => t.daemon.pipeline.exports.depth).toBeGreaterThan(100);
      t.daemon.pipeline.exports.resume();
      expect((await first).status).toBe(200);
      expect((await small).status).toBe(200);
    } finally {
      t.daemon.pipeline.exports.resume();
    }
  });

  it('the queue is bounded in bytes too: exports of few but large spans are shed', async () => {
    const own = await startTestDaemon({ ingest: { queueBytes: 3 * 1024 * 1024 } });
    own.daemon.pipeline.exports.pause();
    try {
      // One span carrying a 1 MiB prompt: one span against the span bound, a megabyte against the byte bound.
      const big = Buffer.from(encodeProtobuf(makeSpans([{ name: 'chat', kind: 'client', attributes: { 'gen_ai.input.messages': 'x'.repeat(1 << 20) } }], { resource: { 'service.name': 'llm', 'nhi.identity': 'spiffe://test/llm' } })));
      const codes: number[] = [];
      const accepted: Array<Promise<Reply>> = [];
      for (let i = 0; i < 5; i++) {
        // Each export's outcome before the next is sent: queued (the paused queue grows) or refused (answered).
        let answer: Reply | undefined;
        const queued = own.daemon.pipeline.exports.depth;
        const r = post('/v1/traces', big, PROTO, own.httpUrl).then((a) => (answer = a));
        await waitFor(() => answer ?? own.daemon.pipeline.exports.depth > queued, `export ${i} queued or answered`);
        if (answer) codes.push(answer.status); else accepted.push(r);
      }
      // Two fit the 3 MiB; a third would not, nor does it fit the reserve of small exports (a sixteenth).
      expect(accepted).toHaveLength(2);
      expect(codes).toEqual([503, 503, 503]);
      expect(await metricValue(own, 'vigil_requests_rejected_total{receiver="http",reason="overloaded"}')).toBe(3);
      own.daemon.pipeline.exports.resume();
      for (const r of accepted) expect((await r).status).toBe(200);
    } finally {
      own.daemon.pipeline.exports.resume();
      await own.close();
    }
  });
});

it('bodies being read share the byte budget: stalled gzip uploads are refused once it is spent', async () => {
  const own = await startTestDaemon({ ingest: { queueBytes: 8 << 20 } });
  // Whether `n` more bytes fit the budget now: taken and given back in one tick, so no upload sees it.
  const fits = (n: number) => {
    const b = own.daemon.pipeline.bodyBudget();
    try { return b.take(n); } finally { b.release(); }
  };
  const sockets: net.Socket[] = [];
  try {
    // 3 MiB of protobuf once inflated, sent whole but for the gzip trailer: the upload never ends.
    const gz = zlib.gzipSync(Buffer.alloc(3 << 20));
    const replies: string[] = Array(5).fill('');
    for (let i = 0; i < 5; i++) {
      const s = net.connect(own.daemon.ports.http, '127.0.0.1');
      sockets.push(s);
      s.on('data', (d) => (replies[i] += d.toString('latin1'))).on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      s.write(`POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`);
      s.write(gz.subarray(0, gz.length - 8));
      // Each upload's outcome before the next starts: the first two hold 3 MiB each (then 5, then 2 more do not fit); the rest answered.
      if (i < 2) await waitFor(() => !fits(((8 - 3 * (i + 1)) << 20) + 1), `upload ${i} holding its 3 MiB`);
      else await waitFor(() => replies[i].includes('\r\n\r\n'), `upload ${i} answered`);
    }
    // Two hold 6 MiB of the 8 (still unanswered); the third and later could not take theirs.
    expect(replies.map((r) => r.split('\r\n')[0])).toEqual(['', '', 'HTTP/1.1 503 Service Unavailable', 'HTTP/1.1 503 Service Unavailable', 'HTTP/1.1 503 Service Unavailable']);
    expect(replies[2]).toMatch(/Retry-After: 1/i);
    // Refused for load, so counted as such (they were not counted at all before the error catalogue said so).
    expect(await metricValue(own, 'vigil_requests_rejected_total{receiver="http",reason="overloaded"}')).toBe(3);
  } finally {
    for (const s of sockets) s.destroy();
    await own.close();
  }
});

/**
 * A raw gRPC Export stream sending `message`, declared `declared` bytes long, half-closed only when `end`. `log` gets
 * `sent <name>` once the message has left (past a flow-control window: as the daemon reads it) and `<name> <grpc-status>`.
 */
function rawGrpcExport(session: http2.ClientHttp2Session, name: string, message: Buffer, log: string[], { declared = message.length, end = false } = {}): Promise<string | undefined> {
  const stream = session.request({ ':method': 'POST', ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export', 'content-type': 'application/grpc', te: 'trailers' }).on('error', () => {});
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(declared, 1);
  stream.write(Buffer.concat([prefix, message]), (err) => err || log.push(`sent ${name}`));
  if (end) stream.end();
  return new Promise((resolve) => {
    let status: string | undefined;
    // An error before any response is a trailers-only response (grpc-status in the headers).
    const settle = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] === undefined || status !== undefined) return;
      log.push(`${name} ${(status = String(h['grpc-status']))}`);
      resolve(status);
    };
    stream.on('response', settle).on('trailers', settle).on('close', () => resolve(status));
  });
}

it('gRPC calls receive a few at a time: the others wait unread; a stalled one gives way to them, or times out', async () => {
  // 2 MiB of queue and 1 MiB messages: two calls may be receiving at a time; a slot is held at most 1.5 s
  // (half the request timeout) while others wait.
  const own = await startTestDaemon({ receivers: { otlp: { maxRequestBytes: 1024 * 1024, requestTimeout: '3s' } }, ingest: { queueBytes: 2 * 1024 * 1024 } });
  // One connection: the daemon takes the calls in, and its answers come back, in the order they were sent.
  const session = http2.connect(`http://127.0.0.1:${own.daemon.ports.grpc}`);
  try {
    const log: string[] = [];
    const stalled = ['s0', 's1'].map((name) => rawGrpcExport(session, name, Buffer.alloc(1000), log, { declared: 1_000_000 }));
    // Both sent, then a PING answered: the daemon (in this process) has taken them in, so they hold the slots.
    await waitFor(() => log.length === 2, 'the stalled calls sent');
    await new Promise((ok, fail) => session.ping((err) => (err ? fail(err) : ok(null))));
    // Part of the scenario, not a wait for state: the export comes while the stalled calls are within their 1.5 s.
    await new Promise((r) => setTimeout(r, 1000));
    // A valid export waits for a slot, unread, while the two stalled calls hold both.
    const waiting = rawGrpcExport(session, 'waiting', Buffer.from(encodeProtobuf(validSpans())), log, { end: true });
    // HTTP does not share the gRPC slots.
    expect((await post('/v1/traces', Buffer.from(encodeProtobuf(validSpans())), PROTO, own.httpUrl)).status).toBe(200);
    await Promise.all([...stalled, waiting]);
    // The older stalled call loses its slot to the waiting export at 1.5 s (UNAVAILABLE, 14: retryable), and the
    // export is accepted (0, OK). Nobody waits any more, so the other keeps its slot until the request timeout
    // (DEADLINE_EXCEEDED, 4).
    expect(log.filter((e) => !e.startsWith('sent'))).toEqual(['s0 14', 'waiting 0', 's1 4']);
  } finally {
    session.destroy();
    await own.close();
  }
});

it('a gRPC call that sends its message but never ends its stream gives its slot to a waiting call, and times out', async () => {
  // One slot. Whole 1 MB messages (far past a flow-control window), never half-closed: none is accepted.
  // The timeout is generous: the first call's message must be read before it ends (no speed is asserted).
  const own = await startTestDaemon({ receivers: { otlp: { maxRequestBytes: 1024 * 1024, requestTimeout: '3s' } }, ingest: { queueBytes: 1024 * 1024 } });
  const session = http2.connect(`http://127.0.0.1:${own.daemon.ports.grpc}`).on('error', () => {});
  try {
    const log: string[] = [];
    const calls = ['c0', 'c1', 'c2'].map((name) => rawGrpcExport(session, name, Buffer.alloc(1_000_000), log));
    // The first is read whole and keeps its slot until, others waiting, it has held it 1.5 s (UNAVAILABLE).
    await waitFor(() => log.length >= 2, 'two things to happen');
    expect(log.slice(0, 2)).toEqual(['sent c0', 'c0 14']);
    // The next one's turn ends the same way, or with its request timeout, whichever comes first.
    for (const status of await Promise.all(calls)) expect(['4', '14']).toContain(status);
  } finally {
    session.destroy();
    await own.close();
  }
}, 20_000);

it('gRPC calls that send headers and stall cannot keep a real exporter out for longer than a slot hold', async () => {
  // 4 slots, a 20 s request timeout: a slot is held at most 5 s while others wait. The SDK exporter gives up
  // (without retrying) after 8 s here: without the hold limit it would wait the whole 20 s.
  const own = await startTestDaemon({ receivers: { otlp: { maxRequestBytes: 1024 * 1024, requestTimeout: '20s' } }, ingest: { queueBytes: 4 * 1024 * 1024 } });
  const session = http2.connect(`http://127.0.0.1:${own.daemon.ports.grpc}`).on('error', () => {});
  const exporter = new GrpcExporter({ url: own.grpcUrl, timeoutMillis: 8000 });
  try {
    const log: string[] = [];
    // Four calls that send their headers and 6 bytes of a message, then nothing: every slot taken.
    const stalled = ['s0', 's1', 's2', 's3'].map((name) => rawGrpcExport(session, name, Buffer.alloc(1), log, { declared: 100 }));
    await waitFor(() => log.length === 4, 'the stalled calls sent');
    await new Promise((ok, fail) => session.ping((err) => (err ? fail(err) : ok(null))));
    const result = await new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(validSpans('spiffe://test/after-stall') as never, resolve));
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(0); // ExportResultCode.SUCCESS
    await waitFor(() => own.actions.some((a) => a.identity === 'spiffe://test/after-stall'), 'the export’s action');
    expect(log).toContain('s0 14');
    session.destroy();
    await Promise.all(stalled);
  } finally {
    session.destroy();
    await exporter.shutdown();
    await own.close();
  }
}, 30_000);

describe('OTLP/gRPC hostile input', () => {
  const passThrough = (b: Buffer) => b;
  let client: grpc.Client;
  beforeAll(() => {
    client = new grpc.Client(`127.0.0.1:${t.daemon.ports.grpc}`, grpc.credentials.createInsecure());
  });
  afterAll(() => client.close());

  function exportRaw(payload: Buffer): Promise<{ code: number; details: string; metadata?: grpc.Metadata; response?: Buffer }> {
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        passThrough,
        passThrough,
        payload,
        (err, response) => resolve(err ? { code: err.code, details: err.details, metadata: err.metadata } : { code: 0, details: '', response }),
      );
    });
  }

  afterEach(async () => {
    const ok = await exportRaw(Buffer.from(encodeProtobuf(validSpans())));
    expect(ok.code).toBe(grpc.status.OK);
  });

  it('random bytes -> INVALID_ARGUMENT', async () => {
    const res = await exportRaw(Buffer.concat([Buffer.from([0x0a, 0xff, 0xff, 0x03]), crypto.randomBytes(64)]));
    expect(res.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('a large undecodable message (decoded in the ingest worker) -> INVALID_ARGUMENT', async () => {
    const res = await exportRaw(Buffer.concat([Buffer.from([0x0a, 0xff, 0xff, 0x03]), crypto.randomBytes(64 * 1024)]));
    expect(res.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('oversize message -> RESOURCE_EXHAUSTED', async () => {
    const res = await exportRaw(Buffer.alloc(LIMIT + 10));
    expect(res.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('a full queue -> UNAVAILABLE with RetryInfo in grpc-status-details-bin', async () => {
    t.daemon.pipeline.exports.pause();
    try {
      const spans = makeSpans(Array.from({ length: 64 }, () => ({ name: 'GET', kind: 'client' as const, attributes: { 'http.request.method': 'GET' } })), {
        resource: { 'service.name': 'filler' },
      });
      const first = exportRaw(Buffer.from(encodeProtobuf(spans)));
      await expect.poll(() => t.daemon.pipeline.exports.depth).toBe(64); // queued (and waiting) before the second
      const second = await exportRaw(Buffer.from(encodeProtobuf(makeSpans([...spans, ...spans].slice(0, 65).map(() => ({ name: 'GET', kind: 'client' as const })), { resource: { 'service.name': 'filler' } }))));
      expect(second.code).toBe(grpc.status.UNAVAILABLE);
      const details = second.metadata?.get('grpc-status-details-bin')[0] as Buffer;
      expect(details.toString('latin1')).toContain('type.googleapis.com/google.rpc.RetryInfo');
      t.daemon.pipeline.exports.resume();
      expect((await first).code).toBe(grpc.status.OK);
    } finally {
      t.daemon.pipeline.exports.resume();
    }
  });
});
