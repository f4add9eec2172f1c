import { describe, expect, it } from 'vitest';
import { VigilError } from '../../src/errors.js';
import { decodeJsonRequest, encodeJsonResponse } from '../../src/receiver/otlp-json.js';
import { decodeProtobufRequest } from '../../src/receiver/otlp-protobuf.js';
import { encodeJson, encodeProtobuf, hrTimeToMs, makeSpans } from '../helpers/otlp-payloads.js';

const FILTER = new Set(['service.name', 'gen_ai.tool.name', 'http.request.method', 'count', 'ratio', 'ok', 'tags', 'big']);
const CANARY = 'CANARY-json-77c1';

/** One request with one span built from `span` (and an optional resource), as OTLP/JSON text. */
function body(span: Record<string, unknown>, resourceAttrs: unknown[] = []): string {
  const withIds = { traceId: TRACE, spanId: SPAN, ...span };
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: resourceAttrs }, scopeSpans: [{ scope: { name: 's' }, spans: [withIds] }] }] });
}
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
const attr = (key: string, value: Record<string, unknown>) => ({ key, value });

function decodeError(text: string): VigilError {
  try {
    decodeJsonRequest(text, FILTER);
  } catch (err) {
    if (err instanceof VigilError) return err;
    throw err;
  }
  throw new Error('expected a decode error');
}

describe('decodeJsonRequest', () => {
  it('decodes SDK-encoded OTLP/JSON like the protobuf decoder', () => {
    const spans = makeSpans([
      { name: 'execute_tool fetch', kind: 'client', status: 'error', statusMessage: CANARY, startMs: 1750000000001.5,
        attributes: { 'gen_ai.tool.name': 'fetch', count: 3, ratio: 0.5, ok: true, tags: ['a', 'b'], 'tool.args': CANARY },
        events: [{ name: 'exception', attributes: { 'exception.message': CANARY } }] },
      { name: 'GET', kind: 'client', parentSpanId: '1234567890abcdef', attributes: { 'http.request.method': 'GET' } },
    ], { resource: { 'service.name': 'agent', secret: CANARY } });
    const json = encodeJson(spans);
    expect(json).toContain(CANARY);
    const decoded = decodeJsonRequest(json, FILTER);
    expect(decoded).toEqual(decodeProtobufRequest(encodeProtobuf(spans), FILTER));
    expect(JSON.stringify(decoded)).not.toContain('CANARY');
    const [tool, get] = decoded.spans;
    expect(tool).toMatchObject({ traceId: spans[0].spanContext().traceId, spanId: spans[0].spanContext().spanId, parentSpanId: '',
      name: 'execute_tool fetch', kind: 3, statusCode: 2, startMs: hrTimeToMs(spans[0].startTime) });
    expect(tool.attributes).toEqual({ 'gen_ai.tool.name': 'fetch', count: 3, ratio: 0.5, ok: true, tags: ['a', 'b'] });
    expect(tool.resource).toEqual({ 'service.name': 'agent' });
    expect(get.resource).toBe(tool.resource);
    expect(get.parentSpanId).toBe('1234567890abcdef');
  });

  it('accepts 64-bit integers as strings or numbers, keeping nanosecond precision from strings', () => {
    const asStrings = decodeJsonRequest(body({ startTimeUnixNano: '1750000000123456789', endTimeUnixNano: '1750000000999000000',
      attributes: [attr('count', { intValue: '42' }), attr('big', { intValue: '-9007199254740993' })] }), FILTER).spans[0];
    expect(asStrings.startMs).toBe(1750000000123 + 0.456789);
    expect(asStrings.endMs).toBe(1750000000999);
    expect(asStrings.attributes).toEqual({ count: 42, big: -9007199254740992 });
    const asNumbers = decodeJsonRequest(body({ startTimeUnixNano: 1750000000123000000, endTimeUnixNano: 1000,
      attributes: [attr('count', { intValue: 42 })] }), FILTER).spans[0];
    expect(asNumbers.startMs).toBeCloseTo(1750000000123, 0);
    expect(asNumbers.endMs).toBe(0.001);
    expect(asNumbers.attributes).toEqual({ count: 42 });
  });

  it('accepts enum names leniently and integers as the spec says', () => {
    const named = decodeJsonRequest(body({ kind: 'SPAN_KIND_CLIENT', status: { code: 'STATUS_CODE_ERROR', message: CANARY } }), FILTER);
    expect(named.spans[0]).toMatchObject({ kind: 3, statusCode: 2 });
    expect(decodeJsonRequest(body({ kind: 2, status: { code: 1 } }), FILTER).spans[0]).toMatchObject({ kind: 2, statusCode: 1 });
    expect(decodeJsonRequest(body({ kind: 'SPAN_KIND_BOGUS' }), FILTER).spans[0].kind).toBe(0);
  });

  it('lowercases hex ids and reads malformed ones as empty', () => {
    const ok = decodeJsonRequest(body({ traceId: '0AF7651916CD43DD8448EB211C80319C', spanId: 'B7AD6B7169203331' }), FILTER).spans[0];
    expect(ok).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', parentSpanId: '' });
    const cases: unknown[] = ['', 'b7ad6b716920333', 'b7ad6b71692033311', 'zzad6b7169203331', '0000000000000000', 12, null, 'Cq1rcWkgMzE='];
    for (const id of cases) {
      const d = decodeJsonRequest(body({ traceId: id, spanId: id, parentSpanId: id }), FILTER).spans[0];
      expect([d.traceId, d.spanId, d.parentSpanId], String(id)).toEqual(['', '', '']);
      const child = decodeJsonRequest(body({ name: 'child', parentSpanId: id }), FILTER).spans[0];
      expect([child.name, child.spanId, child.parentSpanId], String(id)).toEqual(['child', SPAN, '']);
    }
  });

  it('represents spans without usable ids by one placeholder per ScopeSpans and reason', () => {
    const spans = decodeJsonRequest(JSON.stringify({ resourceSpans: [{ resource: { attributes: [attr('service.name', { stringValue: 'svc' })] },
      scopeSpans: [{ scope: { name: 'lib' }, spans: [{ name: 'a' }, { name: 'b', traceId: TRACE }, { name: 'ok', traceId: TRACE, spanId: SPAN }] }] }] }),
    FILTER).spans;
    expect(spans.map((s) => s.name)).toEqual(['', '', 'ok']);
    expect(spans[0]).not.toBe(spans[1]); // bad trace id vs bad span id: the rejection reason differs
    expect(spans[0]).toMatchObject({ traceId: '', resource: { 'service.name': 'svc' } });
    expect(spans[1]).toMatchObject({ traceId: TRACE, spanId: '' });
  });

  it('drops kvlist, bytes, nested arrays and ill-typed values; ignores unknown fields', () => {
    const d = decodeJsonRequest(JSON.stringify({ extra: 1, resourceSpans: [{ future: {}, resource: { attributes: [] },
      scopeSpans: [{ spans: [{ unknownField: [1, 2], traceId: TRACE, spanId: SPAN, name: 'n', attributes: [
        attr('count', { kvlistValue: { values: [attr('x', { stringValue: 'y' })] } }),
        attr('ratio', { bytesValue: 'AAE=' }),
        attr('tags', { arrayValue: { values: [{ stringValue: 'a' }, { arrayValue: { values: [] } }, { intValue: '7' }, {}] } }),
        attr('ok', { boolValue: 'yes' }),
        attr('big', { doubleValue: 'Infinity' }),
        attr('gen_ai.tool.name', {}),
      ] }] }] }] }), FILTER).spans[0];
    expect(d.attributes).toEqual({ tags: ['a', 7], big: Infinity });
  });

  it("keeps keys named like Object.prototype's as plain values, and finds nothing inherited", () => {
    const keys = new Set(['__proto__', 'constructor', 'toString']);
    const decode = (attributes: unknown[]) =>
      decodeJsonRequest(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE, spanId: SPAN, name: 'n', attributes }] }] }] }), keys).spans[0];
    const d = decode([attr('__proto__', { stringValue: 'p' }), attr('constructor', { stringValue: 'c' })]);
    expect(Object.entries(d.attributes)).toEqual([['__proto__', 'p'], ['constructor', 'c']]);
    const bare = decode([]);
    for (const k of keys) expect([bare.attributes[k], bare.resource[k]]).toEqual([undefined, undefined]);
  });

  it('rejects what is not an OTLP/JSON request with VIGIL_ERR_DECODE', () => {
    const bad = ['', '{', 'null', '[]', '42', '"x"', '{"resourceSpans":{}}', '{"resourceSpans":[{"scopeSpans":"x"}]}',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[1]}]}]}', body({ attributes: {} }), body({ startTimeUnixNano: '12abc' }),
      body({ startTimeUnixNano: -5 }), body({ name: 5 }), body({ kind: true }), body({ attributes: [{ key: 3 }] })];
    for (const text of bad) expect(decodeError(text).code, text).toBe('VIGIL_ERR_DECODE');
    expect(decodeJsonRequest('{}', FILTER)).toEqual({ spans: [] });
    expect(decodeJsonRequest('{"resourceSpans":null}', FILTER)).toEqual({ spans: [] });
  });

  it('never quotes the body in its message (a tool argument or a prompt may be what broke it)', () => {
    for (const text of ['{"a":SECRET-CANARY}', 'SECRET-CANARY', '{"resourceSpans":[{"x":"SECRET-CANARY" 1}]}']) {
      const { message } = decodeError(text);
      expect(message).toMatch(/invalid JSON/);
      expect(message).not.toContain('SECRET');
    }
    expect(decodeError('{"resourceSpans":[{"x":"y" 1}]}').message).toMatch(/invalid JSON at position 27$/);
  });

  it('keeps U+FFFD from a body decoded with replacement', () => {
    const bytes = Buffer.from(body({ attributes: [attr('gen_ai.tool.name', { stringValue: 'ab@cd' })] }));
    bytes[bytes.indexOf('@')] = 0xff;
    expect(decodeJsonRequest(bytes.toString('utf8'), FILTER).spans[0].attributes['gen_ai.tool.name']).toBe('ab\uFFFDcd');
  });
});

describe('encodeJsonResponse', () => {
  it('encodes success and partial success per the OTLP JSON mapping', () => {
    expect(JSON.parse(encodeJsonResponse(0, ''))).toEqual({});
    expect(JSON.parse(encodeJsonResponse(2, 'two spans had no identity'))).toEqual({
      partialSuccess: { rejectedSpans: '2', errorMessage: 'two spans had no identity' } });
  });
});
