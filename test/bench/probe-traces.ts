/**
 * The probe's OTLP traffic (alert-probe.ts's header says why it is shaped so): the baseline traces its
 * identities learn, and the probe traces, each a never-written tool and target, so a new alert.
 */
import { encodeProtobuf, makeSpans, type SpanSpec } from '../helpers/otlp-payloads.js';
import type { ProbeConfig } from './probe-protocol.js';

const HOUR = 3_600_000;
const PEER_GROUP = 'probe-agent';
export const identityOf = (j: number) => `spiffe://bench.example/ns/probe/sa/agent-${j}`;
const hex = (n: number, chars: number) => n.toString(16).padStart(chars, '0');
/** Letters for k (a path segment with fewer than 4 digits, so the target keeps it rather than `{id}`). */
const letters = (k: number) => {
  let s = '';
  do {
    s = String.fromCharCode(97 + (k % 26)) + s;
    k = Math.floor(k / 26);
  } while (k > 0);
  return s;
};

/** Baseline exports: traces interleaved over identities in event-time order, ~2,000 spans per request. */
export function baselineRequests(cfg: ProbeConfig, nowMs: number): { bodies: Buffer[]; spans: number } {
  const bodies: Buffer[] = [];
  let specs: SpanSpec[] = [];
  let spans = 0;
  const stepMs = (47 * HOUR) / cfg.baselineTraces;
  const flush = () => {
    if (specs.length === 0) return;
    bodies.push(Buffer.from(encodeProtobuf(makeSpans(specs, { scope: '@vigil/bench-probe' }))));
    specs = [];
  };
  for (let i = 0; i < cfg.baselineTraces; i++) {
    for (let j = 0; j < cfg.identities; j++) {
      const start = nowMs - 48 * HOUR + i * stepMs + j * 37;
      const traceId = `0b${hex(j, 8)}${hex(i, 8)}${'0'.repeat(14)}`;
      const toolSpan = hex(0x1000 + i * 2, 16);
      const resource = { 'service.name': PEER_GROUP, 'nhi.identity': identityOf(j) };
      specs.push(
        { traceId, spanId: toolSpan, name: 'execute_tool reports.read', startMs: start, endMs: start + 40, resource, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'reports.read' } },
        { traceId, spanId: hex(0x1001 + i * 2, 16), parentSpanId: toolSpan, name: 'GET', kind: 'client', startMs: start + 5, endMs: start + 30, resource, attributes: { 'http.request.method': 'GET', 'server.address': 'reports.internal', 'url.full': `https://reports.internal/reports/${i}` } },
      );
      spans += 2;
      if (specs.length >= 2000) flush();
    }
  }
  flush();
  return { bodies, spans };
}

export interface Probe {
  k: number;
  body: Buffer;
  spanIds: string[];
  sentAt: number;
  ackAt: number;
  alertAt: number;
}

/**
 * Probe k: identity k % identities; a never-written tool and target, so its alert is new. `perExport`
 * probes share one export body (kept on the first of them; the others' `body` is empty).
 */
export function buildProbes(cfg: ProbeConfig, nowMs: number, perExport = 1): Probe[] {
  const out: Probe[] = [];
  let group: SpanSpec[] = [];
  let first = 0;
  for (let k = 0; k < cfg.probes; k++) {
    const j = k % cfg.identities;
    const start = nowMs - 2000 + k * 0.01;
    const traceId = `0c${hex(k, 8)}${'0'.repeat(22)}`;
    const toolSpan = hex(0x2000_0000 + k * 2, 16);
    const httpSpan = hex(0x2000_0001 + k * 2, 16);
    const resource = { 'service.name': PEER_GROUP, 'nhi.identity': identityOf(j) };
    const specs: SpanSpec[] = [
      { traceId, spanId: toolSpan, name: `execute_tool records.purge.${k}`, startMs: start, endMs: start + 40, resource, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': `records.purge.${k}` } },
      { traceId, spanId: httpSpan, parentSpanId: toolSpan, name: 'DELETE', kind: 'client', startMs: start + 5, endMs: start + 30, resource, attributes: { 'http.request.method': 'DELETE', 'server.address': 'reports.internal', 'url.full': `https://reports.internal/purge-${letters(k)}/${k % 1000}` } },
    ];
    out.push({ k, body: Buffer.alloc(0), spanIds: [toolSpan, httpSpan], sentAt: 0, ackAt: 0, alertAt: 0 });
    group.push(...specs);
    if (group.length >= 2 * perExport || k === cfg.probes - 1) {
      out[first].body = Buffer.from(encodeProtobuf(makeSpans(group, { scope: '@vigil/bench-probe' })));
      group = [];
      first = k + 1;
    }
  }
  return out;
}
