/**
 * The generator's span model and its OTLP/JSON encoding (the Collector file exporter's shape: one
 * `ExportTraceServiceRequest` per line, ids as lowercase hex, nanosecond times as strings). Written by
 * hand rather than through the SDK because a scenario holds a million spans and must be written fast.
 */

export type AttrValue = string | number | boolean | string[];
export type Attrs = Record<string, AttrValue>;

/** OTLP span kinds. */
export const KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

/** Who emits a span: one resource per identity (service.name = peer group, nhi.identity). */
export interface Resource {
  identity: string;
  peerGroup: string;
  attrs: Attrs;
}

export interface GenSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  attrs: Attrs;
  error: boolean;
  resource: Resource;
  /** What the generator meant this span to be, for counting actions (Vigil derives its own). */
  act?: 'tool' | 'http' | 'db' | 'delegation' | 'model';
}

/** One agent task: a trace, possibly spanning several identities (delegation). */
export interface GenTrace {
  traceId: string;
  startMs: number;
  spans: GenSpan[];
  /** Set when the trace carries (part of) an injected anomaly; its actions are then not counted benign. */
  labelIds?: string[];
}

function encodeValue(v: AttrValue): unknown {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { arrayValue: { values: v.map((s) => ({ stringValue: s })) } };
}

function encodeAttrs(attrs: Attrs): unknown[] {
  const out: unknown[] = [];
  for (const key of Object.keys(attrs)) out.push({ key, value: encodeValue(attrs[key]) });
  return out;
}

/** Milliseconds (integer or with sub-ms fraction) as an OTLP nanosecond string, exactly. */
function nanos(ms: number): string {
  const whole = Math.floor(ms);
  const frac = Math.round((ms - whole) * 1e6);
  return `${whole}${String(frac).padStart(6, '0')}`;
}

function encodeSpan(s: GenSpan): unknown {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: nanos(s.startMs),
    endTimeUnixNano: nanos(s.endMs),
    attributes: encodeAttrs(s.attrs),
    status: s.error ? { code: 2 } : { code: 0 },
  };
}

/** One ExportTraceServiceRequest line holding these traces, spans grouped by resource in first-seen order. */
export function encodeLine(traces: readonly GenTrace[], scopeName: string): string {
  const byResource = new Map<Resource, unknown[]>();
  for (const t of traces) {
    for (const s of t.spans) {
      let list = byResource.get(s.resource);
      if (!list) byResource.set(s.resource, (list = []));
      list.push(encodeSpan(s));
    }
  }
  const resourceSpans = [...byResource].map(([res, spans]) => ({
    resource: { attributes: encodeAttrs(res.attrs) },
    scopeSpans: [{ scope: { name: scopeName, version: '1.0.0' }, spans }],
  }));
  return JSON.stringify({ resourceSpans });
}
