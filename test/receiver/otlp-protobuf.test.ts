import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { VigilError } from '../../src/errors.js';
import type { DecodedSpan } from '../../src/model.js';
import { decodeJsonRequest } from '../../src/receiver/otlp-json.js';
import {
  decodeProtobufRequest,
  encodeGrpcStatusDetailsRetryInfo,
  encodeProtobufResponse,
  encodeStatus,
} from '../../src/receiver/otlp-protobuf.js';
import { ProtoReader, WireType, writeBytesField, writeStringField, writeTag, writeVarint } from '../../src/receiver/protobuf-reader.js';
import { encodeJson, encodeProtobuf, hrTimeToMs, makeSpans, parseProtobufResponse, seededRandom } from '../helpers/otlp-payloads.js';
import type { SpanSpec } from '../helpers/otlp-payloads.js';

const FILTER = new Set(['service.name', 'nhi.identity', 'gen_ai.tool.name', 'http.request.method', 'http.response.status_code',
  'sampling.ratio', 'cache.hit', 'nhi.scopes', 'retry.delays', 'flags']);
const CANARY = 'CANARY-s3cr3t-9f2a';
const RESOURCE = { 'service.name': 'support-agent', 'nhi.identity': 'spiffe://example.org/agent/a', 'deployment.secret': CANARY };

const SPECS: SpanSpec[] = [
  { name: 'invoke_agent triage', kind: 'server', traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331',
    startMs: 1750000000123.4567, endMs: 1750000000999.25, status: 'ok',
    attributes: { 'nhi.identity': 'spiffe://example.org/agent/override', 'gen_ai.input.messages': CANARY } },
  { name: 'execute_tool search', kind: 'internal', traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00f067aa0ba902b7',
    parentSpanId: 'b7ad6b7169203331', status: 'error', statusMessage: `boom ${CANARY}`,
    attributes: { 'gen_ai.tool.name': 'search', 'gen_ai.tool.call.arguments': `{"q":"${CANARY}"}`, 'sampling.ratio': 0.25,
      'cache.hit': false, 'nhi.scopes': ['tickets:read', 'kb:read'], 'retry.delays': [100, -2, 3000000000], 'flags': [true, false] },
    events: [{ name: 'exception', attributes: { 'exception.stacktrace': CANARY } }],
    links: [{ traceId: '11111111111111111111111111111111', spanId: '2222222222222222', attributes: { 'link.secret': CANARY } }] },
  { name: 'GET', kind: 'client', attributes: { 'http.request.method': 'GET', 'http.response.status_code': 503 } },
  { name: 'publish', kind: 'producer' },
  { name: 'consume', kind: 'consumer', resource: { 'service.name': 'other-agent' }, scope: 'other-scope' },
];

function build() {
  const spans = makeSpans(SPECS, { resource: RESOURCE, scope: 'agent-lib' });
  return { spans, protobuf: encodeProtobuf(spans), json: encodeJson(spans) };
}

function byName(decoded: DecodedSpan[], name: string): DecodedSpan {
  const span = decoded.find((s) => s.name === name);
  if (!span) throw new Error(`no span ${name}`);
  return span;
}

/** Either decodes or throws VigilError(VIGIL_ERR_DECODE); anything else fails the test. */
function decodeOrDecodeError(bytes: Uint8Array): 'ok' | 'error' {
  try {
    decodeProtobufRequest(bytes, FILTER);
    return 'ok';
  } catch (err) {
    if (!(err instanceof VigilError) || err.code !== 'VIGIL_ERR_DECODE') throw err;
    return 'error';
  }
}

// Hand-built messages for what the SDK never emits (odd field orders, kvlists, bad ids, hostile lengths).
const len = (field: number, ...parts: number[][]) => { const out: number[] = []; writeBytesField(out, field, parts.flat()); return out; };
const str = (field: number, text: string) => { const out: number[] = []; writeStringField(out, field, text); return out; };
const varint = (field: number, v: number) => { const out: number[] = []; writeTag(out, field, WireType.VARINT); writeVarint(out, v); return out; };
const kv = (key: string, value: number[], field = 9) => len(field, str(1, key), len(2, value));
const ID16 = Array.from({ length: 16 }, (_, i) => i + 1);
const ID8 = Array.from({ length: 8 }, (_, i) => i + 0xa0);
/** A request of spans with valid ids (a body's own ids come later, so they win). */
const request = (...spanBodies: number[][]) =>
  Uint8Array.from(len(1, len(2, ...spanBodies.map((b) => len(2, len(1, ID16), len(2, ID8), b)))));

describe('decodeProtobufRequest', () => {
  it('decodes SDK-encoded spans: ids, times, kinds, status, typed attributes, resource, scope', () => {
    const { spans, protobuf } = build();
    const decoded = decodeProtobufRequest(protobuf, FILTER).spans;
    expect(decoded).toHaveLength(SPECS.length);
    for (const sdk of spans) {
      const d = byName(decoded, sdk.name);
      expect(d.traceId).toBe(sdk.spanContext().traceId);
      expect(d.spanId).toBe(sdk.spanContext().spanId);
      expect(d.parentSpanId).toBe(sdk.parentSpanContext?.spanId ?? '');
      expect(d.kind).toBe(sdk.kind + 1);
      expect(d.statusCode).toBe(sdk.status.code);
      expect(d.startMs).toBe(hrTimeToMs(sdk.startTime));
      expect(d.endMs).toBe(hrTimeToMs(sdk.endTime));
    }
    const tool = byName(decoded, 'execute_tool search');
    expect(tool.attributes).toEqual({ 'gen_ai.tool.name': 'search', 'sampling.ratio': 0.25, 'cache.hit': false,
      'nhi.scopes': ['tickets:read', 'kb:read'], 'retry.delays': [100, -2, 3000000000], flags: [true, false] });
    expect(tool.statusCode).toBe(2);
    expect(tool.resource).toEqual({ 'service.name': 'support-agent', 'nhi.identity': 'spiffe://example.org/agent/a' });
    expect(tool.resource).toBe(byName(decoded, 'GET').resource); // one shared object per ResourceSpans
    expect(byName(decoded, 'GET').attributes).toEqual({ 'http.request.method': 'GET', 'http.response.status_code': 503 });
    expect(byName(decoded, 'invoke_agent triage').startMs).toBeCloseTo(1750000000123.4567, 3);
    const other = byName(decoded, 'consume');
    expect(other.resource).toEqual({ 'service.name': 'other-agent' });
  });

  it("keeps keys named like Object.prototype's as plain values, and finds nothing inherited", () => {
    const keys = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
    const body = [...kv('__proto__', str(1, 'p')), ...kv('constructor', str(1, 'c')), ...kv('toString', str(1, 't'))];
    const [span] = decodeProtobufRequest(request(body), new Set(keys)).spans;
    expect(Object.entries(span.attributes)).toEqual([['__proto__', 'p'], ['constructor', 'c'], ['toString', 't']]);
    expect(span.attributes.hasOwnProperty).toBeUndefined();
    const [bare] = decodeProtobufRequest(request([]), new Set(keys)).spans;
    for (const k of keys) expect(bare.attributes[k]).toBeUndefined();
    for (const k of keys) expect(bare.resource[k]).toBeUndefined();
    expect(({} as Record<string, unknown>).p).toBeUndefined(); // Object.prototype untouched
  });

  it('produces exactly what the JSON decoder produces for the same spans', () => {
    const { protobuf, json } = build();
    expect(decodeProtobufRequest(protobuf, FILTER)).toEqual(decodeJsonRequest(json, FILTER));
  });

  it('never materialises filtered values, events, links or status messages', () => {
    const { protobuf } = build();
    expect(Buffer.from(protobuf).includes(CANARY)).toBe(true);
    expect(JSON.stringify(decodeProtobufRequest(protobuf, FILTER))).not.toContain('CANARY');
  });

  it('replaces invalid UTF-8 in strings with U+FFFD', () => {
    const spans = makeSpans([{ name: 'x', attributes: { 'gen_ai.tool.name': 'ab@@cd' } }]);
    const bytes = Buffer.from(encodeProtobuf(spans));
    const at = bytes.indexOf('@@');
    bytes[at] = 0xff;
    bytes[at + 1] = 0xc3; // a lead byte followed by an ASCII byte: invalid
    expect(decodeProtobufRequest(bytes, FILTER).spans[0].attributes['gen_ai.tool.name']).toBe('ab\uFFFD\uFFFDcd');
  });

  it('treats an empty buffer as an empty request', () => {
    expect(decodeProtobufRequest(new Uint8Array(0), FILTER)).toEqual({ spans: [] });
  });

  it('throws or returns for every truncation of a real payload', () => {
    const { protobuf } = build();
    let errors = 0;
    for (let i = 0; i < protobuf.length; i++) if (decodeOrDecodeError(protobuf.subarray(0, i)) === 'error') errors++;
    expect(errors).toBeGreaterThan(protobuf.length / 2);
  });

  it('survives random bytes and random mutations of a real payload', () => {
    // Anything but a decode error (a TypeError, a RangeError, a hang) fails the test; both outcomes must
    // occur, or the inputs were not the mix of valid and broken they are meant to be.
    const rand = seededRandom(1234);
    const outcomes = { random: { ok: 0, error: 0 }, mutated: { ok: 0, error: 0 } };
    for (let n = 0; n < 20000; n++) {
      const bytes = new Uint8Array(Math.floor(rand() * 300));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
      outcomes.random[decodeOrDecodeError(bytes)]++;
    }
    const { protobuf } = build();
    for (let n = 0; n < 3000; n++) {
      const bytes = Uint8Array.from(protobuf);
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      outcomes.mutated[decodeOrDecodeError(bytes)]++;
    }
    for (const o of Object.values(outcomes)) {
      expect(o.ok).toBeGreaterThan(0);
      expect(o.error).toBeGreaterThan(0);
    }
  });

  it('rejects hostile or malformed framing with VIGIL_ERR_DECODE', () => {
    const cases: Array<[string, number[]]> = [
      ['huge length prefix', [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]],
      ['length past end of a nested message', len(1, [0x12, 0x40, 0x00])],
      ['varint longer than 10 bytes', [0x08, ...new Array(11).fill(0xff), 0x01]],
      ['truncated varint', [0x08, 0x80]],
      ['wrong wire type for resource_spans', [0x08, 0x01]],
      ['wrong wire type for span name', Array.from(request([0x28, 0x01]))],
      ['wrong wire type for start time', Array.from(request(varint(7, 5)))],
      ['wire type 7', [0x0f]],
      ['field number 0', [0x02, 0x00]],
      ['unterminated group', [0x13, 0x08, 0x01]],
    ];
    for (const [what, bytes] of cases) {
      expect(() => decodeProtobufRequest(Uint8Array.from(bytes), FILTER), what).toThrow(VigilError);
    }
  });

  it('refuses a length or a tag past 32 bits, which cut to 32 bits would read as a valid one', () => {
    // A real request whose resource_spans length is n + 2^32 (or n + 2^63): its low 32 bits are n.
    const { protobuf } = build();
    const reader = new ProtoReader(protobuf);
    expect(reader.tag()).toBe(0x0a);
    const n = reader.uint32();
    const rest = Array.from(protobuf.subarray(reader.pos));
    for (const big of [n + 2 ** 32, n + 2 ** 52]) {
      const prefix: number[] = [0x0a];
      writeVarint(prefix, big);
      expect(() => decodeProtobufRequest(Uint8Array.from([...prefix, ...rest]), FILTER), `length ${big}`).toThrow('length past end of message');
    }
    // Tag 2^32 + 0x0a: cut to 32 bits, field 1 (resource_spans) of length 0.
    const tag: number[] = [];
    writeVarint(tag, 2 ** 32 + 0x0a);
    expect(() => decodeProtobufRequest(Uint8Array.from([...tag, 0]), FILTER)).toThrow('field number past 2^29 - 1');
    // A negative enum, sign-extended to 10 bytes, still reads as its int32 value.
    const minusOne = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]; // -1 as protobuf sends an int32
    expect(new ProtoReader(Uint8Array.from(minusOne)).int32()).toBe(-1);
    // Zero padding is legal protobuf (up to 10 bytes): a padded tag or length reads as its value.
    const padded = (v: number) => [(v & 0x7f) | 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
    expect(new ProtoReader(Uint8Array.from(padded(0x0a))).tag()).toBe(0x0a);
    expect(decodeProtobufRequest(Uint8Array.from([...padded(0x0a), ...padded(0)]), FILTER).spans).toEqual([]);
  });

  it('skips unknown fields of every wire type, groups included', () => {
    const unknown = [...varint(90, 300), 0xd1, 0x05, 1, 2, 3, 4, 5, 6, 7, 8, ...str(92, 'x'), 0xe5, 0x05, 1, 2, 3, 4,
      0xeb, 0x05, ...varint(1, 1), 0xec, 0x05];
    const body = [...unknown, ...len(1, ID16), ...str(5, 'named'), ...unknown, ...len(2, ID8)];
    const bytes = Uint8Array.from([...unknown, ...len(1, unknown, len(2, unknown, len(2, body)))]);
    expect(decodeProtobufRequest(bytes, FILTER).spans.map((s) => s.name)).toEqual(['named']);
  });

  it('handles fields in any order: value before key, resource and scope after the spans', () => {
    const span = [...len(9, len(2, str(1, 'GET')), str(1, 'http.request.method')), ...str(5, 'late')];
    const scopeSpans = [...len(2, len(1, ID16), len(2, ID8), span), ...len(1, str(1, 'late-scope'))];
    const resource = len(1, kv('service.name', str(1, 'svc'), 1));
    const bytes = Uint8Array.from(len(1, len(2, scopeSpans), resource));
    const [d] = decodeProtobufRequest(bytes, FILTER).spans;
    expect(d.attributes).toEqual({ 'http.request.method': 'GET' });
    expect(d.resource).toEqual({ 'service.name': 'svc' });
  });

  it('validates ids: wrong length or all zeros read as empty', () => {
    const bad = request([...len(1, ID16.slice(0, 15)), ...len(2, new Array(8).fill(0)), ...len(4, [])]);
    expect(decodeProtobufRequest(bad, FILTER).spans[0]).toMatchObject({ traceId: '', spanId: '', parentSpanId: '' });
    const parentOnly = request([...len(4, ID8.slice(1))]);
    expect(decodeProtobufRequest(parentOnly, FILTER).spans[0]).toMatchObject({ spanId: 'a0a1a2a3a4a5a6a7', parentSpanId: '' });
    const good = request([...len(1, ID16), ...len(2, ID8), ...len(4, ID8)]);
    expect(decodeProtobufRequest(good, FILTER).spans[0]).toMatchObject({
      traceId: '0102030405060708090a0b0c0d0e0f10', spanId: 'a0a1a2a3a4a5a6a7', parentSpanId: 'a0a1a2a3a4a5a6a7' });
  });

  it('reads each trace id from its own bytes when consecutive spans repeat, alternate or break the id', () => {
    const other = ID16.map((b) => b + 0x10);
    // A non-minimal length prefix (0x90 0x00 = 16) shifts the id a byte: the next span's id, equal to that
    // shifted window, must not be mistaken for it.
    const shifted = [0x0a, 0x90, 0x00, ...ID16];
    const window = [0, ...ID16.slice(0, 15)];
    const ids = (bodies: number[][]) =>
      decodeProtobufRequest(Uint8Array.from(len(1, len(2, ...bodies.map((b) => len(2, b, len(2, ID8)))))), FILTER).spans.map((s) => s.traceId);
    const hex = (b: number[]) => Buffer.from(b).toString('hex');
    expect(ids([len(1, ID16), len(1, ID16), len(1, other), len(1, ID16), len(1, ID16.slice(0, 15)), len(1, ID16), len(1, new Array(16).fill(0))]))
      .toEqual([hex(ID16), hex(ID16), hex(other), hex(ID16), '', hex(ID16), '']);
    expect(ids([shifted, len(1, window), shifted])).toEqual([hex(ID16), hex(window), hex(ID16)]);
  });

  it('reads each attribute key from its own bytes when keys alternate in one intern slot', () => {
    // Same length and the same first, middle and last bytes: the intern table hashes only those, so these
    // keys share a slot and each use must still compare the whole key.
    const keys = ['service.xame.ab', 'service.yame.ab'];
    const spec = (i: number): SpanSpec => ({ name: `s${i}`, kind: 'internal', attributes: { [keys[i % 2]]: `v${i}` } });
    const spans = decodeProtobufRequest(encodeProtobuf(makeSpans([0, 1, 2, 3].map(spec))), new Set(keys)).spans;
    expect(spans.map((s) => ({ ...s.attributes }))).toEqual([0, 1, 2, 3].map((i) => ({ [keys[i % 2]]: `v${i}` })));
  });

  it('represents spans without usable ids by one placeholder per ScopeSpans, keeping resource and scope', () => {
    const resource = len(1, kv('service.name', str(1, 'svc'), 1));
    const scopeSpans = len(2, len(1, str(1, 'lib')), len(2, str(5, 'a')), len(2, str(5, 'b'), len(1, [1, 2])),
      len(2, len(1, ID16), len(2, ID8), str(5, 'ok')));
    const spans = decodeProtobufRequest(Uint8Array.from(len(1, resource, scopeSpans)), FILTER).spans;
    expect(spans.map((s) => s.name)).toEqual(['', '', 'ok']);
    expect(spans[0]).toBe(spans[1]);
    expect(spans[0]).toMatchObject({ traceId: '', spanId: '', resource: { 'service.name': 'svc' } });
  });

  it('maps AnyValue: negative int64, kvlist and bytes dropped, nested arrays dropped, last oneof wins', () => {
    const negOne = [0x18, ...new Array(9).fill(0xff), 0x01];
    const span = [
      ...kv('retry.delays', negOne),
      ...kv('nhi.scopes', len(6, len(1, str(1, 'k')))), // kvlist: dropped
      ...kv('flags', len(5, len(1, str(1, 'a')), len(1, len(5, len(1, str(1, 'nested')))), len(1, varint(2, 1)))),
      ...kv('cache.hit', [...str(1, 'first'), ...len(7, [1, 2])]), // bytes last: dropped
      ...kv('sampling.ratio', [...len(7, [1]), 0x21, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f]), // double 1.5 last: kept
      ...kv('unwanted', [0x21, 1]), // truncated, but never looked at: skipped by its length
    ];
    const [d] = decodeProtobufRequest(request(span), FILTER).spans;
    expect(d.attributes).toEqual({ 'retry.delays': -1, flags: ['a', true], 'sampling.ratio': 1.5 });
  });

  it('keeps nanosecond times exact to the double', () => {
    const spans = makeSpans([{ name: 'x' }]);
    (spans[0] as { startTime: [number, number] }).startTime = [1750000000, 123456789];
    (spans[0] as { endTime: [number, number] }).endTime = [4102444800, 999999999];
    const [d] = decodeProtobufRequest(encodeProtobuf(spans), FILTER).spans;
    expect(d.startMs).toBe(1750000000123 + 0.456789);
    expect(d.endMs).toBe(4102444800999 + 0.999999);
  });
});

describe('protobuf responses', () => {
  it('encodes full success as an empty message and partial success as the SDK reads it', () => {
    expect(encodeProtobufResponse(0, '')).toHaveLength(0);
    expect(parseProtobufResponse(encodeProtobufResponse(0, ''))).toEqual({});
    const partial = parseProtobufResponse(encodeProtobufResponse(300, '300 spans had no identity'));
    expect(Number(partial.partialSuccess?.rejectedSpans)).toBe(300);
    expect(partial.partialSuccess?.errorMessage).toBe('300 spans had no identity');
  });

  // The encoders are checked with an independent decoder, protobufjs, against google/rpc/status.proto,
  // google/rpc/error_details.proto, google/protobuf/any.proto and duration.proto (the fields used here),
  // not with this project's own ProtoReader (which would share any misreading of the wire format).
  const root = protobuf.Root.fromJSON({
    nested: {
      google: {
        nested: {
          rpc: {
            nested: {
              Status: {
                fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 } },
              },
              RetryInfo: { fields: { retryDelay: { type: 'google.protobuf.Duration', id: 1 } } },
            },
          },
          protobuf: {
            nested: {
              Any: { fields: { typeUrl: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
              Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
            },
          },
        },
      },
    },
  });
  const Status = root.lookupType('google.rpc.Status');
  const RetryInfo = root.lookupType('google.rpc.RetryInfo');
  /** Decodes with protobufjs into a plain object: int64 as number, proto3 defaults and empty lists filled in. */
  const decode = (type: protobuf.Type, bytes: Uint8Array) =>
    type.toObject(type.decode(bytes), { longs: Number, bytes: Array, defaults: true, arrays: true }) as Record<string, any>;

  it.each([
    [2500, { seconds: 2, nanos: 500_000_000 }],
    [3000, { seconds: 3, nanos: 0 }],
    [250, { seconds: 0, nanos: 250_000_000 }],
  ])('encodes google.rpc.Status with a RetryInfo detail of %i ms', (ms, retryDelay) => {
    const status = decode(Status, encodeGrpcStatusDetailsRetryInfo(ms, 14, 'the ingest queue is full'));
    expect(status).toMatchObject({ code: 14, message: 'the ingest queue is full' });
    expect(status.details).toHaveLength(1);
    const [any] = status.details;
    expect(any.typeUrl).toBe('type.googleapis.com/google.rpc.RetryInfo');
    expect(decode(RetryInfo, Uint8Array.from(any.value))).toEqual({ retryDelay });
  });

  it('encodes a plain google.rpc.Status', () => {
    expect(decode(Status, encodeStatus(3, 'bad payload'))).toEqual({ code: 3, message: 'bad payload', details: [] });
  });
});
