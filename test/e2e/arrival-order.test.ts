/**
 * Spans to actions when exports arrive in an awkward order, seen as an operator sees it
 * (`vigil replay --actions`, CONTRACT §1 and §3): a tool's calls exported after it, an identity's first
 * tool exported after its parentless call, and retries listed before the failure they repeat. Written
 * from the contract by an outside review; the cases it found failing are fixed.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/serve-process.js';

const T0 = 1704067200000000000n; // 2024-01-01T00:00:00Z in ns
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const RES = { 'service.name': 'support-agent', 'nhi.identity': 'spiffe://acme.example/ns/support/sa/agent-1' };

interface SpanSpec { traceId?: string; spanId?: string; parent?: string; name: string; kind: number; startMs: number; endMs: number; attrs: Record<string, string | number>; error?: boolean }
interface Action { kind: string; target: string; access: string | null; failed: boolean; retry: boolean; traceId: string; spanId: string }

const attr = (key: string, v: string | number) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } });
function span(s: SpanSpec) {
  return {
    traceId: s.traceId ?? hex(16), spanId: s.spanId ?? hex(8), ...(s.parent ? { parentSpanId: s.parent } : {}), name: s.name, kind: s.kind,
    startTimeUnixNano: String(T0 + BigInt(s.startMs * 1e6)), endTimeUnixNano: String(T0 + BigInt(s.endMs * 1e6)),
    attributes: Object.entries(s.attrs).map(([k, v]) => attr(k, v)), ...(s.error ? { status: { code: 2 } } : {}),
  };
}
/** One export (one line of the replay file). */
const exportOf = (spans: SpanSpec[]) => ({ resourceSpans: [{ resource: { attributes: Object.entries(RES).map(([k, v]) => attr(k, v)) }, scopeSpans: [{ spans: spans.map(span) }] }] });

function replayActions(exports: object[]): Action[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-arrival-'));
  try {
    const file = path.join(dir, 'traces.jsonl');
    fs.writeFileSync(file, exports.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const r = spawnSync(process.execPath, [CLI, 'replay', '--actions', file], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    return r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Action);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const only = (actions: Action[], spanId: string) => {
  const mine = actions.filter((a) => a.spanId === spanId);
  expect(mine).toHaveLength(1);
  return mine[0];
};

const tool = (traceId: string, spanId: string, error = false): SpanSpec =>
  ({ traceId, spanId, name: 'execute_tool tickets.update', kind: 1, startMs: 0, endMs: 100, error, attrs: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'tickets.update' } });
const call = (traceId: string, parent: string | undefined, method: string, startMs: number, status = 200): SpanSpec =>
  ({ traceId, parent, name: method, kind: 3, startMs, endMs: startMs + 10, attrs: { 'http.request.method': method, 'url.full': 'https://tickets.example/api/tickets/42', 'http.response.status_code': status } });

describe('a tool exported before its call', () => {
  it('takes the class of the call exported next', () => {
    const [tr, t] = [hex(16), hex(8)];
    const actions = replayActions([exportOf([tool(tr, t)]), exportOf([call(tr, t, 'DELETE', 10)])]);
    expect(only(actions, t).access).toBe('delete');
  });

  it('does not count its failure twice when its failed call comes next', () => {
    const [tr, t] = [hex(16), hex(8)];
    const actions = replayActions([exportOf([tool(tr, t, true)]), exportOf([call(tr, t, 'GET', 10, 500)])]);
    expect(actions.filter((a) => a.traceId === tr && a.failed).map((a) => a.kind)).toEqual(['http']);
  });
});

describe('an identity’s first tool (OpenInference: its call is parentless, in a trace of its own)', () => {
  const oiTool = (spanId: string): SpanSpec => ({ spanId, name: 'delete_ticket', kind: 1, startMs: 0, endMs: 100, attrs: { 'openinference.span.kind': 'TOOL', 'tool.name': 'delete_ticket' } });
  it('takes the class of its call exported before it', () => {
    const t = hex(8);
    const actions = replayActions([exportOf([call(hex(16), undefined, 'DELETE', 10)]), exportOf([oiTool(t)])]);
    expect(only(actions, t).access).toBe('delete');
  });

  it('takes the class of its call exported after it', () => {
    const t = hex(8);
    const actions = replayActions([exportOf([oiTool(t)]), exportOf([call(hex(16), undefined, 'DELETE', 10)])]);
    expect(only(actions, t).access).toBe('delete');
  });
});

describe('retries listed out of order', () => {
  it('an OpenInference tool repeated after an error is a retry, though listed before the error', () => {
    const oi = (startMs: number, error: boolean): SpanSpec => ({ spanId: hex(8), name: 'lookup_order', kind: 1, startMs, endMs: startMs + 10, error, attrs: { 'openinference.span.kind': 'TOOL', 'tool.name': 'lookup_order' } });
    const [failed, repeat] = [oi(0, true), oi(1000, false)];
    const actions = replayActions([exportOf([repeat, failed])]);
    expect([only(actions, failed.spanId!).retry, only(actions, repeat.spanId!).retry]).toEqual([false, true]);
  });
});
