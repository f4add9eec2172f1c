/**
 * Real OTLP payloads for tests and benchmarks, built with the OpenTelemetry JS SDK and serialized by
 * its own OTLP serializers (`@opentelemetry/otlp-transformer`), so the decoders are tested against
 * what exporters actually send rather than against our own idea of the format.
 *
 * Typical use:
 * ```ts
 * const spans = makeSpans([{ name: 'execute_tool search', kind: 'internal', attributes: { 'gen_ai.tool.name': 'search' } }],
 *   { resource: { 'service.name': 'agent', 'nhi.identity': 'spiffe://example.org/agent' } });
 * const body = encodeProtobuf(spans); // or encodeJson(spans)
 * ```
 * Independent of vitest, so the benchmarks can use it too.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import type { AttributeValue, Attributes, HrTime, Link } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { IdGenerator, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';

/** One span to build. Anything omitted gets a deterministic default. */
export interface SpanSpec {
  name: string;
  /** Span kind by name; default 'internal'. (OTLP numbers: internal 1, server 2, client 3, producer 4, consumer 5.) */
  kind?: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  /** 32 lowercase hex chars; ignored when `parentSpanId` is set without it (the parent's trace is used). */
  traceId?: string;
  /** 16 lowercase hex chars. */
  spanId?: string;
  /** 16 lowercase hex chars; the span then joins `traceId` as a child of this span id. */
  parentSpanId?: string;
  /** Start, unix epoch ms (fractional ok, kept to the nanosecond). Default 2025-06-15T15:06:40Z + index ms. */
  startMs?: number;
  /** End, unix epoch ms. Default startMs + durationMs. */
  endMs?: number;
  /** Default 5. */
  durationMs?: number;
  attributes?: Attributes;
  status?: 'unset' | 'ok' | 'error';
  statusMessage?: string;
  events?: Array<{ name: string; attributes?: Attributes }>;
  links?: Array<{ traceId: string; spanId: string; attributes?: Attributes }>;
  /** Resource attributes; spans with equal resources share one ResourceSpans. Default: `defaults.resource`. */
  resource?: Record<string, AttributeValue>;
  /** Instrumentation scope name; default `defaults.scope` or 'vigil-test'. */
  scope?: string;
}

/** Defaults applied to every spec of one `makeSpans` call. */
export interface SpanDefaults {
  resource?: Record<string, AttributeValue>;
  scope?: string;
  /** Seed for the ids of specs without explicit ids. Default: a per-process counter, so successive calls
   *  get different (yet reproducible) ids. */
  seed?: number;
}

const KINDS = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
} as const;
const STATUS = { unset: SpanStatusCode.UNSET, ok: SpanStatusCode.OK, error: SpanStatusCode.ERROR } as const;

/** A small deterministic PRNG (mulberry32): same seed, same sequence, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `chars` random lowercase hex characters from `rand` (never all zeros). */
export function randomHex(rand: () => number, chars: number): string {
  let s = '';
  for (let i = 0; i < chars; i++) s += Math.floor(rand() * 16).toString(16);
  return /^0+$/.test(s) ? '1'.padStart(chars, '0') : s;
}

/** Epoch ms to the SDK's [seconds, nanoseconds], exact to the nanosecond the double can represent. */
export function msToHrTime(ms: number): HrTime {
  const whole = Math.floor(ms);
  const nanos = Math.round((ms - whole) * 1e6);
  return [Math.floor(whole / 1000), (whole % 1000) * 1e6 + nanos];
}

/** What the decoders must produce for an SDK HrTime: whole ms plus the sub-ms remainder, one rounding. */
export function hrTimeToMs(t: HrTime): number {
  return t[0] * 1000 + Math.floor(t[1] / 1e6) + (t[1] % 1e6) / 1e6;
}

let nextSeed = 1;

/** Hands the SDK the ids the spec asks for, else deterministic pseudo-random ones. */
class ScriptedIds implements IdGenerator {
  nextTraceId: string | undefined;
  nextSpanId: string | undefined;
  constructor(private readonly rand: () => number) {}
  generateTraceId(): string {
    return this.nextTraceId ?? randomHex(this.rand, 32);
  }
  generateSpanId(): string {
    return this.nextSpanId ?? randomHex(this.rand, 16);
  }
}

/**
 * Builds finished SDK spans (`ReadableSpan`s) from specs, in spec order. Spans with equal resource
 * attributes come from one tracer provider, so the serializers group them into one ResourceSpans.
 */
export function makeSpans(specs: SpanSpec[], defaults: SpanDefaults = {}): ReadableSpan[] {
  const ids = new ScriptedIds(seededRandom(defaults.seed ?? nextSeed++));
  const exporter = new InMemorySpanExporter();
  const providers = new Map<string, BasicTracerProvider>();
  const base = Date.UTC(2025, 5, 15, 15, 6, 40);
  specs.forEach((spec, index) => {
    const resourceAttrs = spec.resource ?? defaults.resource ?? { 'service.name': 'vigil-test' };
    const resourceKey = JSON.stringify(resourceAttrs);
    let provider = providers.get(resourceKey);
    if (provider === undefined) {
      provider = new BasicTracerProvider({
        resource: resourceFromAttributes(resourceAttrs),
        idGenerator: ids,
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      });
      providers.set(resourceKey, provider);
    }
    const tracer = provider.getTracer(spec.scope ?? defaults.scope ?? 'vigil-test');
    let ctx = ROOT_CONTEXT;
    ids.nextTraceId = spec.traceId;
    ids.nextSpanId = spec.spanId;
    if (spec.parentSpanId !== undefined) {
      const traceId = spec.traceId ?? randomHex(seededRandom(index + 7), 32);
      ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: spec.parentSpanId, traceFlags: TraceFlags.SAMPLED });
    }
    const startMs = spec.startMs ?? base + index;
    const endMs = spec.endMs ?? startMs + (spec.durationMs ?? 5);
    const links: Link[] = (spec.links ?? []).map((l) => ({
      context: { traceId: l.traceId, spanId: l.spanId, traceFlags: TraceFlags.SAMPLED },
      attributes: l.attributes,
    }));
    const span = tracer.startSpan(
      spec.name,
      { kind: KINDS[spec.kind ?? 'internal'], attributes: spec.attributes, startTime: msToHrTime(startMs), links },
      ctx,
    );
    for (const e of spec.events ?? []) span.addEvent(e.name, e.attributes, msToHrTime(startMs));
    if (spec.status !== undefined && spec.status !== 'unset') {
      span.setStatus({ code: STATUS[spec.status], message: spec.statusMessage });
    }
    span.end(msToHrTime(endMs));
  });
  ids.nextTraceId = undefined;
  ids.nextSpanId = undefined;
  return exporter.getFinishedSpans().slice();
}

/** Serializes spans exactly as the SDK's http/protobuf and gRPC exporters do (an ExportTraceServiceRequest). */
export function encodeProtobuf(spans: ReadableSpan[]): Uint8Array {
  const out = ProtobufTraceSerializer.serializeRequest(spans);
  if (out === undefined) throw new Error('the SDK serializer returned nothing');
  return out;
}

/** Serializes spans exactly as the SDK's http/json exporter does (OTLP/JSON text). */
export function encodeJson(spans: ReadableSpan[]): string {
  const out = JsonTraceSerializer.serializeRequest(spans);
  if (out === undefined) throw new Error('the SDK serializer returned nothing');
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('utf8');
}

/** Parses a protobuf `ExportTraceServiceResponse` with the SDK's own response parser. */
export function parseProtobufResponse(bytes: Uint8Array): { partialSuccess?: { rejectedSpans?: number | string; errorMessage?: string } } {
  return ProtobufTraceSerializer.deserializeResponse(bytes) as { partialSuccess?: { rejectedSpans?: number | string; errorMessage?: string } };
}

/**
 * A reports agent's tool call with the HTTP call it makes (`method` on reports.internal), `hoursAgo` in
 * event time; `n` makes the ids unique. What the durability and store-failure tests teach and misuse.
 */
export function reportsToolCall(hoursAgo: number, tool: string, method: string, n: number): SpanSpec[] {
  const start = Date.now() - hoursAgo * 3_600_000;
  const traceId = (0x1000 + n).toString(16).padStart(32, '0');
  const toolSpan = (0x100000 + n * 2).toString(16).padStart(16, '0');
  return [
    { traceId, spanId: toolSpan, name: `execute_tool ${tool}`, startMs: start, endMs: start + 40, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool } },
    { traceId, spanId: (0x100001 + n * 2).toString(16).padStart(16, '0'), parentSpanId: toolSpan, name: method, kind: 'client', startMs: start + 5, endMs: start + 30, attributes: { 'http.request.method': method, 'server.address': 'reports.internal', 'url.full': `https://reports.internal/reports/${n}` } },
  ];
}
