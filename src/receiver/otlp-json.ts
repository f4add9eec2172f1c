/**
 * OTLP/JSON decoding of `ExportTraceServiceRequest` into the same `DecodedSpan`s as the protobuf path,
 * and the JSON response. Follows the OTLP JSON encoding: lowerCamelCase keys, hex trace/span ids,
 * 64-bit integers as strings or numbers, enums as integers (names accepted leniently), unknown fields
 * ignored. Only attributes the filter accepts are copied; events, links, trace state and the status
 * message are never read.
 */
import { VigilError } from '../errors.js';
import { newAttributes, type AttrValue, type Attributes, type AttributeFilter, type DecodedRequest, type DecodedSpan } from '../model.js';
import { unusableSpan } from './otlp-protobuf.js';

type Json = Record<string, unknown>;

const SPAN_KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_CODE_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

function fail(detail: string): never {
  throw new VigilError('VIGIL_ERR_DECODE', detail);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A repeated field: absent or null is empty; anything but an array is malformed. */
function list(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return EMPTY;
  if (!Array.isArray(v)) fail(`${what} is not an array`);
  return v;
}
const EMPTY: unknown[] = [];

/** A message field: absent or null is absent; anything but an object is malformed. */
function message(v: unknown, what: string): Json | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) fail(`${what} is not an object`);
  return v;
}

function text(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') fail(`${what} is not a string`);
  return v;
}

/** An enum: an integer, or (leniently) its name; unknown names read as 0 (unspecified). */
function enumValue(v: unknown, names: Record<string, number>, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') return Object.hasOwn(names, v) ? names[v] : 0;
  return fail(`${what} is not an enum value`);
}

/** A hex id of exactly `chars` characters, lowercased; '' when absent, malformed or all zeros. */
function hexId(v: unknown, chars: number): string {
  if (typeof v !== 'string' || v.length !== chars) return '';
  let upper = false;
  let nonZero = false;
  for (let i = 0; i < chars; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (c !== 0x30) nonZero = true;
    } else if (c >= 0x61 && c <= 0x66) nonZero = true;
    else if (c >= 0x41 && c <= 0x46) nonZero = upper = true;
    else return '';
  }
  if (!nonZero) return '';
  return upper ? v.toLowerCase() : v;
}

const DIGITS = /^\d+$/;
const INTEGER = /^-?\d+$/;

/** Nanoseconds (decimal string or number) to fractional ms. Strings are split into whole ms and the
 *  sub-ms remainder so 19-digit values keep their precision (matches the protobuf path exactly). */
function nanosToMs(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'string') {
    if (!DIGITS.test(v)) fail(`${what} is not an unsigned integer`);
    const n = v.length;
    if (n <= 15) return wholeAndRem(Number(v));
    return Number(v.slice(0, n - 6)) + Number(v.slice(n - 6)) / 1e6;
  }
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return wholeAndRem(Math.floor(v));
  return fail(`${what} is not an unsigned integer`);
}

function wholeAndRem(ns: number): number {
  if (!Number.isSafeInteger(ns)) return ns / 1e6;
  const rem = ns % 1e6;
  return (ns - rem) / 1e6 + rem / 1e6;
}

/**
 * A `\uD800`-style escape: the only way a JSON text decoded from UTF-8 can hold a lone surrogate, which
 * is no Unicode text and would be stored in SQLite as invalid UTF-8. Only such bodies pay for the reviver.
 */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/** Replaces lone surrogates with U+FFFD, as the protobuf decoder does with invalid UTF-8 (CONTRACT §2). */
function wellFormed(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? value.toWellFormed() : value;
}

/**
 * Decodes an OTLP/JSON `ExportTraceServiceRequest`, keeping only the attributes `filter` accepts. As in
 * the protobuf decoder, spans lacking a valid trace or span id share one placeholder per ScopeSpans.
 * @throws VigilError `VIGIL_ERR_DECODE` when the body is not JSON, not an object, or a structural field
 *   has the wrong type.
 */
export function decodeJsonRequest(body: string, filter: AttributeFilter): DecodedRequest {
  let root: unknown;
  try {
    // includes() first: a twelfth of the regular expression's cost on bodies without any \u escape.
    root = body.includes('\\u') && SURROGATE_ESCAPE.test(body) ? JSON.parse(body, wellFormed) : JSON.parse(body);
  } catch (err) {
    // V8's message quotes a piece of the body, which may be a tool argument or a prompt: only the position.
    const at = /at position (\d+)/.exec((err as Error).message);
    return fail(at ? `invalid JSON at position ${at[1]}` : 'invalid JSON');
  }
  if (!isObject(root)) fail('the top level is not an object');
  const spans: DecodedSpan[] = [];
  for (const rs of list(root.resourceSpans, 'resourceSpans')) {
    const rsObj = message(rs, 'resourceSpans[]');
    if (rsObj === undefined) continue;
    const resource = newAttributes();
    const res = message(rsObj.resource, 'resource');
    if (res !== undefined) readAttributes(res.attributes, filter, resource);
    for (const ss of list(rsObj.scopeSpans, 'scopeSpans')) {
      const ssObj = message(ss, 'scopeSpans[]');
      if (ssObj === undefined) continue;
      let badTrace: DecodedSpan | undefined;
      let badSpan: DecodedSpan | undefined;
      for (const s of list(ssObj.spans, 'spans')) {
        const obj = message(s, 'spans[]');
        if (obj === undefined) continue;
        const span = readSpan(obj, filter, resource);
        spans.push(span.traceId === '' ? (badTrace ??= unusableSpan(resource, '')) : span.spanId === '' ? (badSpan ??= unusableSpan(resource, span.traceId)) : span);
      }
    }
  }
  return { spans };
}

function readSpan(s: Json, filter: AttributeFilter, resource: Attributes): DecodedSpan {
  const attributes = newAttributes();
  readAttributes(s.attributes, filter, attributes);
  const status = message(s.status, 'status');
  return {
    traceId: hexId(s.traceId, 32),
    spanId: hexId(s.spanId, 16),
    parentSpanId: hexId(s.parentSpanId, 16),
    name: text(s.name, 'span name'),
    kind: enumValue(s.kind, SPAN_KIND_NAMES, 'kind'),
    startMs: nanosToMs(s.startTimeUnixNano, 'startTimeUnixNano'),
    endMs: nanosToMs(s.endTimeUnixNano, 'endTimeUnixNano'),
    statusCode: status === undefined ? 0 : enumValue(status.code, STATUS_CODE_NAMES, 'status.code'),
    attributes,
    resource,
  };
}

/** Copies the wanted attributes; unwanted values are never looked at. */
function readAttributes(v: unknown, filter: AttributeFilter, target: Attributes): void {
  for (const kv of list(v, 'attributes')) {
    const kvObj = message(kv, 'attributes[]');
    if (kvObj === undefined) continue;
    const key = text(kvObj.key, 'attribute key');
    if (!filter.has(key)) continue;
    const anyValue = message(kvObj.value, 'attribute value');
    if (anyValue === undefined) continue;
    const value = readAnyValue(anyValue, true);
    if (value !== undefined) target[key] = value;
  }
}

/** AnyValue → AttrValue; kvlist, bytes, nested arrays and ill-typed scalars give `undefined` (dropped). */
function readAnyValue(v: Json, allowArray: boolean): AttrValue | undefined {
  if (v.stringValue !== undefined && v.stringValue !== null) {
    return typeof v.stringValue === 'string' ? v.stringValue : undefined;
  }
  if (v.boolValue !== undefined && v.boolValue !== null) {
    return typeof v.boolValue === 'boolean' ? v.boolValue : undefined;
  }
  if (v.intValue !== undefined && v.intValue !== null) return intValue(v.intValue);
  if (v.doubleValue !== undefined && v.doubleValue !== null) return doubleValue(v.doubleValue);
  if (allowArray && v.arrayValue !== undefined && v.arrayValue !== null) {
    const arr = message(v.arrayValue, 'arrayValue');
    const out: Array<string | number | boolean> = [];
    for (const item of list(arr?.values, 'arrayValue.values')) {
      const itemObj = message(item, 'arrayValue.values[]');
      const x = itemObj === undefined ? undefined : readAnyValue(itemObj, false);
      if (x !== undefined) out.push(x as string | number | boolean);
    }
    return out;
  }
  return undefined;
}

function intValue(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v === 'string' && INTEGER.test(v)) return Number(v);
  return undefined;
}

/** Doubles are numbers, or strings in the proto3 JSON mapping ("NaN", "Infinity", "1.5"). */
function doubleValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = v.trim() === '' ? NaN : Number(v);
    return Number.isNaN(n) ? undefined : n;
  }
  return undefined;
}

/**
 * The OTLP/JSON `ExportTraceServiceResponse`: `{}` when nothing was rejected (the OTLP specification: a full
 * success leaves `partial_success` unset; review37 F5), else `rejectedSpans` (an int64, so a decimal string
 * per the JSON mapping) and `errorMessage`.
 */
export function encodeJsonResponse(rejectedSpans: number, errorMessage: string): string {
  if (rejectedSpans <= 0 && errorMessage === '') return '{}';
  const partialSuccess: Record<string, string> = {};
  if (rejectedSpans > 0) partialSuccess.rejectedSpans = String(Math.floor(rejectedSpans));
  if (errorMessage !== '') partialSuccess.errorMessage = errorMessage;
  return JSON.stringify({ partialSuccess });
}
