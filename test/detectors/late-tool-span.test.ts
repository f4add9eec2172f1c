/**
 * A tool span exported after the call it made. The call ends first, so an exporter's batch can hold it
 * without its tool; when the tool comes later than the builder waits, the call and its hop into the MCP
 * server are emitted as steps of their own, and the tool after them. The step history places the tool by
 * its start, not by its arrival, and takes the call back into it: the steps after it follow what came
 * before them in the work, as learned.
 * (Before: the next tool followed the late one, a transition the agent never made, which raised
 * lateral_chaining on a normal session — the flaky MCP misbehaviour test's control run.)
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ActionBuilder } from '../../src/actions/builder.js';
import { configSchema } from '../../src/config/schema.js';
import type { DecodedSpan } from '../../src/model.js';
import { http, span, SpanKind, tid, tool } from '../actions/fixtures.js';
import { engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});
const AGENT = { 'service.name': 'support-agent', 'nhi.identity': 'support-1' };
const SERVER = { 'service.name': 'files-mcp', 'nhi.identity': 'files-mcp' };

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

/**
 * One MCP session in trace `n` at `t`, shaped as the real client's (test/fixtures/frameworks/mcp.otlp.jsonl):
 * the transport's two requests in `initialize` (no tool), then `read_file` and `delete_file`, each tool's
 * request served by the server, which reads report.txt and deletes old.txt. Returns the server's spans, the
 * agent's spans that end before `read_file` does (its timer's export can hold them without it), and the rest.
 */
function session(n: number, t: number): { server: DecodedSpan[]; early: DecodedSpan[]; rest: DecodedSpan[] } {
  const traceId = tid(n);
  const at = (ms: number, len: number) => ({ traceId, start: t + ms, end: t + ms + len });
  const post = (id: number, parent: number, ms: number) => http(id, parent, 'POST', 'http://files-mcp.internal/mcp', { ...at(ms, 80), resource: AGENT });
  const served = (id: number, parent: number, ms: number) => span({ id, parent, kind: SpanKind.SERVER, ...at(ms, 60), resource: SERVER, attrs: { 'http.request.method': 'POST' } });
  const storage = (id: number, parent: number, ms: number, method: string, file: string) => http(id, parent, method, `http://storage.internal/files/${file}`, { ...at(ms, 20), resource: SERVER });
  return {
    server: [served(12, 11, 15), served(14, 13, 45), served(4, 3, 110), storage(5, 4, 120, 'GET', 'report.txt'), served(8, 7, 310), storage(9, 8, 320, 'DELETE', 'old.txt')],
    early: [span({ id: 10, parent: 1, name: 'initialize', ...at(5, 30), resource: AGENT }), post(11, 10, 10), post(13, 10, 40), post(3, 2, 100)],
    rest: [
      tool(2, 1, 'read_file', { ...at(90, 100), resource: AGENT }),
      tool(6, 1, 'delete_file', { ...at(290, 100), resource: AGENT }),
      post(7, 6, 300),
      span({ id: 1, parent: null, ...at(0, 900), resource: AGENT, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'support' } }),
    ],
  };
}

/** The builder's clock. */
let now = 0;

/** One export, taken a second after it came (a ready trace is emitted by then). */
function exported(b: ActionBuilder, spans: DecodedSpan[]): void {
  b.add(spans, (now += 1000));
  h.feed(b.take((now += 1000)));
}

it("a tool span exported after its call (the call and hop emitted first) is placed by its start: the session's next tool follows what it learned", () => {
  const b = new ActionBuilder(config, () => {});
  let t = T0;
  // Three days of sessions, the server's spans first, then the agent's whole trace.
  for (let i = 0; i < 400; i++, t += 10 * MIN) {
    const s = session(i, t);
    exported(b, s.server);
    exported(b, [...s.early, ...s.rest]);
  }
  expect(h.alerts).toEqual([]);

  // The same session, read_file's call exported without it, which comes after the builder gave up waiting.
  const s = session(1000, t);
  exported(b, s.server);
  exported(b, s.early);
  h.feed(b.take((now += 60_000))); // settled without read_file: context repair holds its call for a tool still to come
  h.feed(b.take((now += 60_000))); // which did not come in time: the call is emitted on its own
  exported(b, s.rest);
  h.engine.finish();
  expect(h.alerts.map((a) => a.explanation)).toEqual([]);
});
