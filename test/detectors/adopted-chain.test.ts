/**
 * A delegated agent's steps exported before the hop that makes them its caller's (the usual order for a
 * remote agent: its spans end first). They come as its own task; the hop then merges them into the
 * caller's chain. The transitions that merge makes are judged as the caller's chain, as they would have
 * been in order, and only the clean ones learned (review47: they were all learned unjudged, so a sub-agent's
 * step the caller never chained, or the caller's write after it, went unseen).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Access } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { action, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const ID = 'spiffe://acme/agent/support-1';
const SUB = 'spiffe://acme/agent/billing-1';
const config = configSchema.parse({});

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

let n = 0;
const trace = () => (++n).toString(16).padStart(32, '0');
const ROOT = 'a'.repeat(16);
const TOKEN = { id: 'tok-support-1', type: 'oauth_jti' } as const;
const LEASE = { id: 'lease-billing-1', type: 'vault_lease' } as const;

/**
 * One support session at `t` in a trace of its own: `kb.search`, a hop into billing, whose steps are
 * `calleeSteps` (100 ms apart), then the caller's `next`. `withCaller`: the callee's steps name their caller,
 * as when they come with the hop or after it; without, they are billing's own task until the hop comes.
 */
function session(t: number, calleeSteps: Array<[string, Access]>, next: [string, Access], withCaller: boolean) {
  const traceId = trace();
  const mine = { identity: ID, peerGroup: 'support', traceId, parentSpanId: ROOT, credential: TOKEN };
  const hop = action({ ...mine, time: t + 200, endTime: t + 900, kind: 'delegation', target: SUB });
  const callee = calleeSteps.map(([target, access], k) =>
    action({ identity: SUB, caller: withCaller ? ID : undefined, peerGroup: 'billing', traceId, time: t + 300 + 100 * k, target, access, parentSpanId: hop.spanId, credential: LEASE }),
  );
  const first = action({ ...mine, time: t, target: 'kb.search' });
  const last = action({ ...mine, time: t + 1000, target: next[0], access: next[1] });
  return { caller: [first, hop, last], callee, last };
}

const ROUTINE: Array<[string, Access]> = [['invoice.lookup', 'read'], ['invoice.summarize', 'read']];

/**
 * Two days of the routine session, exported in one piece (the callee's steps with their caller), and
 * beside it, in traces of their own, `who`'s two steps `[first, then]` (the second a write).
 */
function learn(who: { identity: string; peerGroup: string }, [first, then]: [string, string]): number {
  let t = T0;
  for (let i = 0; i < 320; i++, t += 10 * MIN) {
    const s = session(t, ROUTINE, ['crm.search', 'read'], true);
    h.feed([...s.caller.slice(0, 2), ...s.callee, s.caller[2]]);
    const own = trace();
    h.feed([action({ ...who, traceId: own, time: t + 5000, target: first }), action({ ...who, traceId: own, time: t + 5100, target: then, access: 'write' })]);
  }
  expect(h.alerts).toEqual([]);
  return t;
}

/** The routine, and the caller's own ticket updates after a CRM search. */
const learnInOrder = () => learn({ identity: ID, peerGroup: 'support' }, ['crm.search', 'tickets.update']);
/** The routine, and billing's own work: a lookup, then a refund. */
const learnWithBillingsOwn = () => learn({ identity: SUB, peerGroup: 'billing' }, ['invoice.lookup', 'payments.refund']);

/** The callee's export first, then the caller's. */
function calleeFirst(s: ReturnType<typeof session>): void {
  h.feed(s.callee);
  h.feed(s.caller);
}

it("the routine, learned in one piece, is quiet when the callee's export comes first", () => {
  const t = learnInOrder();
  calleeFirst(session(t, ROUTINE, ['crm.search', 'read'], false));
  h.engine.finish();
  expect(h.alerts).toEqual([]);
});

it("the caller's write after the callee's last step is judged against that step, as in order", () => {
  const t = learnInOrder();
  const s = session(t, ROUTINE, ['tickets.update', 'write'], false);
  calleeFirst(s);
  h.engine.finish();
  expect(h.alerts.map((a) => [a.identity, a.detector, a.evidence.subject, a.evidence.credential])).toEqual([
    [ID, 'lateral_chaining', 'tool:invoice.summarize -> tool:tickets.update', TOKEN], // the caller's own write
  ]);
  expect(h.alerts[0].evidence.spanIds).toEqual([s.callee[1].spanId, s.last.spanId]);
});

const REFUND: Array<[string, Access]> = [['invoice.lookup', 'read'], ['payments.refund', 'write']];

it("a chain the callee learned in its own tasks but never made in the caller's is raised for the caller, with no credential", () => {
  const t = learnWithBillingsOwn();
  const s = session(t, REFUND, ['crm.search', 'read'], false);
  h.feed(s.callee); // billing's own chain: learned, quiet
  expect(h.alerts).toEqual([]);
  h.feed(s.caller);
  h.engine.finish();
  expect(h.alerts.map((a) => [a.identity, a.evidence.subject, a.evidence.credential])).toEqual([
    [ID, 'tool:invoice.lookup -> tool:payments.refund', undefined], // billing's lease is not the caller's
  ]);
  expect(h.alerts[0].explanation).toContain(`${SUB} (in a task of ${ID}) went from \`tool:invoice.lookup\` to \`tool:payments.refund\`, which leads to a write`);
});

it('an adopted transition that raised is not learned: the same chain in order is raised again', () => {
  const t = learnWithBillingsOwn();
  calleeFirst(session(t, REFUND, ['crm.search', 'read'], false));
  const again = session(t + 30 * MIN, REFUND, ['crm.search', 'read'], true); // the alert still open: folds into it
  h.feed([...again.caller.slice(0, 2), ...again.callee, again.caller[2]]);
  h.engine.finish();
  expect(h.alerts.map((a) => [a.evidence.subject, a.count])).toEqual([['tool:invoice.lookup -> tool:payments.refund', 2]]);
});

/**
 * An MCP server's session in trace `traceId` at `t`: `kb.search`, then the hop into the server, which
 * deletes a file in zone `storage` (a call made in the hop's span), then `crm.search` in zone `crm`.
 */
function mcpSession(t: number, withCaller: boolean, inEntrySpan: boolean) {
  const traceId = trace();
  const mine = { identity: ID, peerGroup: 'support', traceId, parentSpanId: ROOT };
  const hop = action({ ...mine, time: t + 200, endTime: t + 900, kind: 'delegation', target: 'files-mcp' });
  const call = action({
    identity: 'files-mcp', caller: withCaller ? ID : undefined, peerGroup: 'mcp', traceId, time: t + 300, kind: 'http',
    target: 'storage.internal/files/old.txt', access: 'delete', zone: 'storage', parentSpanId: hop.spanId, inEntrySpan,
  });
  return { caller: [action({ ...mine, time: t, target: 'kb.search' }), hop, action({ ...mine, time: t + 1000, target: 'crm.search', zone: 'crm' })], call };
}

// Made in the server's entry span (its zone waits for the hop), or under a span that is no action (a call record the hop takes back).
for (const inEntrySpan of [true, false]) {
  it(`a callee's call made in the hop, exported first, is the hop's call once it comes, as in order (review46 F4; in its entry span: ${inEntrySpan})`, () => {
    let t = T0;
    // Two days of the session with the server's export first: its delete waits for the hop.
    for (let i = 0; i < 320; i++, t += 10 * MIN) {
      const s = mcpSession(t, false, inEntrySpan);
      h.feed([s.call]);
      h.feed(s.caller);
    }
    expect(h.alerts).toEqual([]);
    // The same session in one export: the delete is the hop's call, and the hop reached zone storage.
    const s = mcpSession(t, true, inEntrySpan);
    h.feed([...s.caller.slice(0, 2), s.call, s.caller[2]]);
    expect(h.alerts).toEqual([]);
    // Exported first again, then the hop, then a step in another zone: the hop reached zone storage, so the chain crosses.
    const x = mcpSession(t + 10 * MIN, false, inEntrySpan);
    const crossing = action({ ...x.caller[2], spanId: 'c'.repeat(16), time: x.caller[2].time + 100, target: 'kb.search', zone: 'kb' });
    h.feed([x.call]);
    h.feed([...x.caller.slice(0, 2), crossing]);
    h.engine.finish();
    const chains = h.alerts.filter((a) => a.detector === 'lateral_chaining');
    expect(chains.map((a) => [a.evidence.subject, a.evidence.fromZones, a.evidence.toZones])).toEqual([['delegation:files-mcp -> tool:kb.search', ['storage'], ['kb']]]);
  });
}

it("a fetch server's calls, exported before the hops into it, are the hops' calls, not a chain of its own", () => {
  const FETCH = 'mcp-fetch-1';
  /** The agent asks the server for two pages, in this order; each fetch is made in its request's entry span. */
  const session = (t: number, pages: [string, string]) => {
    const traceId = trace();
    const mine = { identity: ID, peerGroup: 'support', traceId, parentSpanId: ROOT };
    const hops = [0, 1].map((k) => action({ ...mine, time: t + 200 + 300 * k, endTime: t + 400 + 300 * k, kind: 'delegation', target: FETCH }));
    const fetches = pages.map((page, k) =>
      action({ identity: FETCH, peerGroup: 'mcp-fetch', traceId, time: t + 250 + 300 * k, kind: 'http', target: page, host: page.split('/')[0], zone: 'external', parentSpanId: hops[k].spanId, inEntrySpan: true }),
    );
    return { fetches, caller: [action({ ...mine, time: t, target: 'kb.search' }), ...hops] };
  };
  let t = T0;
  for (let i = 0; i < 320; i++, t += 10 * MIN) {
    const s = session(t, ['docs.example/a', 'wiki.example/b']);
    h.feed(s.fetches);
    h.feed(s.caller);
  }
  expect(h.alerts).toEqual([]);
  const s = session(t, ['wiki.example/b', 'docs.example/a']); // the other order: as a chain, wiki -> docs was never seen
  h.feed(s.fetches);
  h.feed(s.caller);
  h.engine.finish();
  expect(h.alerts).toEqual([]);
});
