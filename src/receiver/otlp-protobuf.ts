/**
 * OTLP/protobuf decoding of `ExportTraceServiceRequest` (opentelemetry-proto v1.11.0) straight into
 * `DecodedSpan`s, and the protobuf responses the receivers send back.
 *
 * This is the ingest hot path. It reads each attribute's key, asks the filter, and skips the value's
 * bytes unless the key is wanted, so prompts and tool arguments are never turned into strings. Events,
 * links, trace_state and the status message are skipped wholesale (stack traces, secrets).
 */
import { newAttributes, type AttrValue, type Attributes, type AttributeFilter, type DecodedRequest, type DecodedSpan } from '../model.js';
import { ProtoReader, decodeError, writeBytesField, writeStringField, writeTag, writeVarint, WireType } from './protobuf-reader.js';

// Tags are (field << 3 | wire type); switching on whole tags checks the wire type for free.
const [LEN_1, LEN_2, LEN_4, LEN_5, LEN_6, LEN_7, LEN_9, LEN_15] = [0x0a, 0x12, 0x22, 0x2a, 0x32, 0x3a, 0x4a, 0x7a];
const [VARINT_2, VARINT_3, VARINT_6, I64_4, I64_7, I64_8] = [0x10, 0x18, 0x30, 0x21, 0x39, 0x41];

/** Span fields this decoder reads: any other wire type for them is malformed, not an unknown field. */
const SPAN_KNOWN = new Set([1, 2, 4, 5, 6, 7, 8, 9, 15]);

/** Nanoseconds since the epoch, as two uint32 halves, to fractional milliseconds without BigInt.
 *  2^32 = 4294 * 1e6 + 967296, so `hi * 967296 + lo` is exact (< 2^53) and the whole-millisecond part
 *  and the sub-millisecond remainder are both exact: one rounding, the same as the JSON path's. */
export function nanosToMs(lo: number, hi: number): number {
  const t = hi * 967296 + lo;
  const rem = t % 1e6;
  return hi * 4294 + (t - rem) / 1e6 + rem / 1e6;
}

/**
 * Spans without a valid trace or span id are rejected whole, so one shared placeholder per ScopeSpans and reason
 * stands for all of them: 16 MiB of 8M empty spans then holds ~140 MB (an array slot each) instead of
 * 2.6 GB (measured), which would kill the daemon. It carries the resource, so rejections are still
 * attributed to its identity.
 */
export function unusableSpan(resource: Attributes, traceId: string): DecodedSpan {
  return { traceId, spanId: '', parentSpanId: '', name: '', kind: 0, startMs: 0, endMs: 0, statusCode: 0,
    attributes: newAttributes(), resource };
}

function wrongType(what: string): never {
  return decodeError(`wrong wire type for ${what}`);
}

/**
 * Decodes an OTLP/protobuf `ExportTraceServiceRequest`, keeping only the attributes `filter` accepts.
 * An empty buffer is a valid request with no spans. All spans of a ScopeSpans that lack a valid trace or
 * span id are one of two placeholder objects (bad trace id / bad span id; no name or attributes): they are only ever rejected.
 * @throws VigilError `VIGIL_ERR_DECODE` for malformed protobuf (truncation, bad wire types, overruns).
 */
export function decodeProtobufRequest(buf: Uint8Array, filter: AttributeFilter): DecodedRequest {
  const spans: DecodedSpan[] = [];
  if (buf.length === 0) return { spans };
  const r = new ProtoReader(buf);
  while (r.pos < r.limit) {
    const tag = r.tag();
    if (tag === LEN_1) {
      const outer = r.enter();
      readResourceSpans(r, filter, spans);
      r.leave(outer);
    } else if (tag >>> 3 === 1) wrongType('resource_spans');
    else r.skip(tag & 7);
  }
  return { spans };
}

/**
 * Counts the spans of an `ExportTraceServiceRequest` without decoding them (the queue bound is in spans,
 * and decoding happens later, in the ingest worker). Walks only the three enclosing levels.
 * @throws VigilError `VIGIL_ERR_DECODE` when those levels are malformed.
 */
export function countProtobufSpans(buf: Uint8Array): number {
  let n = 0;
  const r = new ProtoReader(buf);
  const each = (field: number, what: string, inner: () => void) => {
    while (r.pos < r.limit) {
      const tag = r.tag();
      if (tag === ((field << 3) | WireType.LEN)) {
        const outer = r.enter();
        inner();
        r.leave(outer);
      } else if (tag >>> 3 === field) wrongType(what);
      else r.skip(tag & 7);
    }
  };
  each(1, 'resource_spans', () => each(2, 'scope_spans', () => each(2, 'spans', () => n++)));
  return n;
}

function readResourceSpans(r: ProtoReader, filter: AttributeFilter, spans: DecodedSpan[]): void {
  // Created up front and filled whenever `resource` appears: fields may come in any order, and every
  // span holds this one object, so spans decoded before the resource still see its attributes.
  const resource = newAttributes();
  while (r.pos < r.limit) {
    const tag = r.tag();
    if (tag === LEN_2) {
      const outer = r.enter();
      readScopeSpans(r, filter, resource, spans);
      r.leave(outer);
    } else if (tag === LEN_1) {
      const outer = r.enter();
      while (r.pos < r.limit) {
        const t = r.tag();
        if (t === LEN_1) readKeyValue(r, filter, resource);
        else if (t >>> 3 === 1) wrongType('resource attributes');
        else r.skip(t & 7);
      }
      r.leave(outer);
    } else if (tag >>> 3 <= 2) wrongType('ResourceSpans');
    else r.skip(tag & 7);
  }
}

/** The spans of a ScopeSpans; its InstrumentationScope (field 1) is skipped: no rule reads it. */
function readScopeSpans(r: ProtoReader, filter: AttributeFilter, resource: Attributes, spans: DecodedSpan[]): void {
  let badTrace: DecodedSpan | undefined;
  let badSpan: DecodedSpan | undefined;
  while (r.pos < r.limit) {
    const tag = r.tag();
    if (tag === LEN_2) {
      const outer = r.enter();
      const span = readSpan(r, filter, resource);
      r.leave(outer);
      spans.push(span.traceId === '' ? (badTrace ??= unusableSpan(resource, '')) : span.spanId === '' ? (badSpan ??= unusableSpan(resource, span.traceId)) : span);
    } else if (tag >>> 3 === 2) wrongType('ScopeSpans');
    else r.skip(tag & 7);
  }
}

function readSpan(r: ProtoReader, filter: AttributeFilter, resource: Attributes): DecodedSpan {
  let traceId = '';
  let spanId = '';
  let parentSpanId = '';
  let name = '';
  let kind = 0;
  let startMs = 0;
  let endMs = 0;
  let statusCode = 0;
  const attributes = newAttributes();
  while (r.pos < r.limit) {
    const tag = r.tag();
    switch (tag) {
      case LEN_9: readKeyValue(r, filter, attributes); break;
      case LEN_1: traceId = r.traceId(); break;
      case LEN_2: spanId = r.id(8); break;
      case LEN_4: parentSpanId = r.id(8); break;
      case LEN_5: name = r.interned(); break;
      case VARINT_6: kind = r.int32(); break;
      case I64_7: startMs = nanosToMs(r.fixed32(), r.fixed32()); break; // lo, then hi
      case I64_8: endMs = nanosToMs(r.fixed32(), r.fixed32()); break; // lo, then hi
      case LEN_15: {
        const outer = r.enter();
        while (r.pos < r.limit) {
          const t = r.tag();
          if (t === VARINT_3) statusCode = r.int32();
          else if (t >>> 3 === 3) wrongType('status code');
          else r.skip(t & 7); // the message (field 2) is never decoded: it carries stack traces
        }
        r.leave(outer);
        break;
      }
      default:
        if (SPAN_KNOWN.has(tag >>> 3)) wrongType('Span');
        r.skip(tag & 7); // trace_state, flags, events, links, dropped counts, unknown fields
    }
  }
  return { traceId, spanId, parentSpanId, name, kind, startMs, endMs, statusCode, attributes, resource };
}

/** Reads one KeyValue; decodes the value only when the key is wanted (the value may precede the key). */
function readKeyValue(r: ProtoReader, filter: AttributeFilter, target: Attributes): void {
  const outer = r.enter();
  let key: string | undefined;
  let valueStart = -1;
  let valueEnd = -1;
  while (r.pos < r.limit) {
    const tag = r.tag();
    if (tag === LEN_1) key = r.interned();
    else if (tag === LEN_2) {
      valueEnd = r.lenEnd();
      valueStart = r.pos;
      r.pos = valueEnd;
    } else if (tag >>> 3 <= 2) wrongType('KeyValue');
    else r.skip(tag & 7);
  }
  r.leave(outer);
  if (key === undefined || valueStart < 0 || !filter.has(key)) return;
  const pos = r.pos;
  const limit = r.limit;
  r.pos = valueStart;
  r.limit = valueEnd;
  const value = readAnyValue(r, true);
  r.pos = pos;
  r.limit = limit;
  if (value !== undefined) target[key] = value;
}

/** AnyValue → AttrValue; kvlist and bytes (and, inside arrays, nested arrays) give `undefined`. Last oneof wins. */
function readAnyValue(r: ProtoReader, allowArray: boolean): AttrValue | undefined {
  let value: AttrValue | undefined;
  while (r.pos < r.limit) {
    const tag = r.tag();
    switch (tag) {
      case LEN_1: value = r.string(); break;
      case VARINT_2: value = r.int64() !== 0; break;
      case VARINT_3: value = r.int64(); break;
      case I64_4: value = r.double(); break;
      case LEN_5:
        if (allowArray) {
          const outer = r.enter();
          value = readArrayValue(r);
          r.leave(outer);
        } else {
          r.skip(WireType.LEN);
          value = undefined;
        }
        break;
      case LEN_6:
      case LEN_7:
        r.skip(WireType.LEN);
        value = undefined;
        break;
      default:
        if (tag >>> 3 <= 7) wrongType('AnyValue');
        r.skip(tag & 7);
    }
  }
  return value;
}

function readArrayValue(r: ProtoReader): Array<string | number | boolean> {
  const values: Array<string | number | boolean> = [];
  while (r.pos < r.limit) {
    const tag = r.tag();
    if (tag === LEN_1) {
      const outer = r.enter();
      const v = readAnyValue(r, false);
      r.leave(outer);
      if (v !== undefined) values.push(v as string | number | boolean);
    } else if (tag >>> 3 === 1) wrongType('ArrayValue');
    else r.skip(tag & 7);
  }
  return values;
}

/**
 * Serializes an `ExportTraceServiceResponse`: empty (full success) when nothing was rejected and there is
 * no message, else `partial_success { rejected_spans, error_message }`.
 */
export function encodeProtobufResponse(rejectedSpans: number, errorMessage: string): Uint8Array {
  if (rejectedSpans <= 0 && errorMessage === '') return new Uint8Array(0);
  const partial: number[] = [];
  if (rejectedSpans > 0) {
    writeTag(partial, 1, WireType.VARINT);
    writeVarint(partial, rejectedSpans);
  }
  if (errorMessage !== '') writeStringField(partial, 2, errorMessage);
  const out: number[] = [];
  writeBytesField(out, 1, partial);
  return Uint8Array.from(out);
}

/**
 * Serializes a `google.rpc.Status` carrying one `google.rpc.RetryInfo` detail, the value of the
 * `grpc-status-details-bin` trailer that tells gRPC clients how long to back off.
 */
export function encodeGrpcStatusDetailsRetryInfo(retryAfterMs: number, code: number, message: string): Buffer {
  const ms = Math.max(0, Math.round(retryAfterMs));
  const duration: number[] = [];
  if (ms >= 1000) {
    writeTag(duration, 1, WireType.VARINT);
    writeVarint(duration, Math.floor(ms / 1000));
  }
  if (ms % 1000 > 0) {
    writeTag(duration, 2, WireType.VARINT);
    writeVarint(duration, (ms % 1000) * 1e6);
  }
  const retryInfo: number[] = [];
  writeBytesField(retryInfo, 1, duration);
  const any: number[] = [];
  writeStringField(any, 1, 'type.googleapis.com/google.rpc.RetryInfo');
  writeBytesField(any, 2, retryInfo);
  return Buffer.from(statusFields(code, message, any));
}

/**
 * Serializes a `google.rpc.Status` {code, message} without details: the body of an OTLP/HTTP protobuf
 * error response (400, 413, 415, 429, 503).
 */
export function encodeStatus(code: number, message: string): Uint8Array {
  return Uint8Array.from(statusFields(code, message, undefined));
}

function statusFields(code: number, message: string, detail: number[] | undefined): number[] {
  const status: number[] = [];
  if (code !== 0) {
    writeTag(status, 1, WireType.VARINT);
    writeVarint(status, code);
  }
  if (message !== '') writeStringField(status, 2, message);
  if (detail !== undefined) writeBytesField(status, 3, detail);
  return status;
}
