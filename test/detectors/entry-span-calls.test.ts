/**
 * Calls made directly in an entry span (a SERVER or CONSUMER span) end up as a step or in some step's
 * zones in every shape, whether or not a hop ever takes them (review49 F1: the first version of
 * Action.inEntrySpan left a call whose hop never came in no step at all). Each case asserts that the
 * call's zone reaches some step of the trace.
 */
import { expect, it } from 'vitest';
import { TraceSteps } from '../../src/detect/steps.js';
import type { Action } from '../../src/actions/types.js';
import { agentRoot, builder, G, http, span, SpanKind, tool } from '../actions/fixtures.js';

const MCP = { 'service.name': 'files-mcp', 'nhi.identity': 'files-mcp' };
const Z = { zones: { internal: ['*.internal'], vault: ['vault.corp'] } };

/** Every batch through one TraceSteps; returns [target, step name, zones of its step context] rows. */
function annotateAll(batches: Action[][]) {
  const ts = new TraceSteps();
  const rows: Array<[string, string, string | null, string[]]> = [];
  for (const b of batches) {
    const out = ts.annotate(b);
    b.forEach((a, i) => rows.push([a.identity, a.target, out[i].name, [...out[i].zones]]));
  }
  return rows;
}
/** True when some step (name != null) carries zone `z`. */
const stepReaches = (rows: ReturnType<typeof annotateAll>, z: string) => rows.some((r) => r[2] !== null && r[3].includes(z));

it('A: a call directly in a parentless SERVER root span (a web-served agent) is a step or some step\'s zone', () => {
  const { b } = builder(Z);
  b.add([
    span({ id: 1, parent: null, kind: SpanKind.SERVER, start: 1000, end: 5000, name: 'POST /run' }),
    tool(2, 1, 'crm.search', { start: 1100, end: 1200 }),
    http(3, 2, 'GET', 'http://crm.internal/c/1', { start: 1110, end: 1150 }),
    http(4, 1, 'GET', 'https://vault.corp/v1/secret/x', { start: 1300, end: 1350 }),
  ], 0);
  const acts = b.drain();
  const rows = annotateAll([acts]);
  expect(stepReaches(rows, 'vault')).toBe(true);
});

it('A2: attacker: own root agent + tools, then a SERVER span with a bogus remote parent holding the exfil', () => {
  const { b } = builder(Z);
  b.add([
    agentRoot({ end: 9000 }),
    tool(2, 1, 'crm.search', { start: 1100, end: 1200 }),
    http(3, 2, 'GET', 'http://crm.internal/c/1', { start: 1110, end: 1150 }),
    span({ id: 4, parent: 999, kind: SpanKind.SERVER, start: 1300, end: 1400 }),
    http(5, 4, 'PUT', 'https://vault.corp/v1/secret/x', { start: 1310, end: 1350 }),
  ], 0);
  const acts = b.drain();
  const rows = annotateAll([acts]);
  expect(stepReaches(rows, 'vault')).toBe(true);
});

/** The MCP-over-HTTP request shape of steps.test.ts review38 M1: HTTP SERVER under the POST, MCP SERVER under the MCP client span. */
function mcpHttp(fetchUnder: 'http' | 'mcp') {
  const caller = [
    agentRoot({ end: 9000 }),
    span({ id: 10, parent: 1, kind: SpanKind.CLIENT, start: 1000, end: 1100, name: 'tools/call fetch', attrs: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'fetch' } }),
    http(11, 10, 'POST', 'http://mcp-files.internal:8080/mcp', { start: 1001, end: 1099 }),
  ];
  const callee = [
    span({ id: 12, parent: 11, kind: SpanKind.SERVER, start: 1002, end: 1098, resource: MCP, attrs: { 'http.request.method': 'POST' } }),
    span({ id: 13, parent: 10, kind: SpanKind.SERVER, start: 1003, end: 1097, resource: MCP, attrs: { 'mcp.method.name': 'tools/call' } }),
    http(14, fetchUnder === 'mcp' ? 13 : 12, 'GET', 'https://vault.corp/v1/secret/x', { start: 1010, end: 1090, resource: MCP }),
  ];
  return { caller, callee };
}

for (const under of ['mcp', 'http'] as const) {
  it(`B: MCP over HTTP in one export, fetch under the ${under} SERVER span: its zone reaches a step`, () => {
    const { b } = builder(Z);
    const { caller, callee } = mcpHttp(under);
    b.add([...caller, ...callee], 0);
    const acts = b.drain();
    const rows = annotateAll([acts]);
    expect(stepReaches(rows, 'vault')).toBe(true);
  });
  it(`C: MCP over HTTP callee first, fetch under the ${under} SERVER span: its zone reaches a step`, () => {
    const { b } = builder(Z);
    const { caller, callee } = mcpHttp(under);
    b.add(callee, 0);
    const first = b.take(G * 100);
    b.add(caller, G * 100);
    const second = b.drain();
    const rows = annotateAll([first, second]);
    expect(stepReaches(rows, 'vault')).toBe(true);
  });
}

it('D: a SERVER span whose parent is the same identity\'s, exported in a later part', () => {
  const { b } = builder(Z);
  b.add([agentRoot({ end: 9000 }), tool(2, 1, 'crm.search', { start: 1100, end: 1200 }), http(3, 2, 'GET', 'http://crm.internal/c/1', { start: 1110, end: 1150 }),
    http(4, 1, 'POST', 'http://self.internal/api', { start: 1300, end: 1400, kind: SpanKind.CLIENT } as never)], 0);
  const first = b.drain();
  b.add([span({ id: 5, parent: 4, kind: SpanKind.SERVER, start: 1301, end: 1399 }), http(6, 5, 'GET', 'https://vault.corp/v1/secret/x', { start: 1310, end: 1390 })], 10);
  const second = b.drain();
  const rows = annotateAll([first, second]);
  expect(stepReaches(rows, 'vault')).toBe(true);
});

it('E: a messaging CONSUMER root (linked, not parented, to its producer)', () => {
  const { b } = builder(Z);
  b.add([
    span({ id: 1, parent: null, kind: SpanKind.CONSUMER, start: 1000, end: 5000, name: 'process job' }),
    http(2, 1, 'GET', 'http://crm.internal/c/1', { start: 1100, end: 1150 }),
    http(3, 1, 'PUT', 'https://vault.corp/v1/secret/x', { start: 1300, end: 1350 }),
  ], 0);
  const acts = b.drain();
  const rows = annotateAll([acts]);
  expect(stepReaches(rows, 'vault')).toBe(true);
});
