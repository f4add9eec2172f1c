/**
 * Actions survive the trip from the ingest worker to the main thread unchanged: every field, nulls,
 * credentials without a type, scopes, repaired attribution, and a shared-string table that is started
 * afresh when it grows too large.
 */
import { expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { ActionDecoder, ActionEncoder, type EncodedActions } from '../../src/ingest/action-codec.js';

function action(over: Partial<Action> = {}): Action {
  return {
    time: 1_750_000_000_123.25,
    endTime: 1_750_000_000_456.5,
    identity: 'spiffe://acme/ns/prod/sa/billing-agent',
    peerGroup: 'billing-agent',
    kind: 'http',
    target: 'api.stripe.com/v1/charges/{id}',
    access: 'write',
    host: 'api.stripe.com',
    zone: 'external',
    sensitive: false,
    failed: true,
    retry: true,
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '00f067aa0ba902b7',
    credential: { id: 'cred-1', type: 'oauth2' },
    scopes: ['payments:write', 'customers:read'],
    agent: 'billing',
    caller: 'spiffe://acme/ns/prod/sa/orchestrator',
    attributedTo: { traceId: '1af7651916cd43dd8448eb211c80319d', spanId: 'c7ad6b7169203332' },
    accessBy: 'spiffe://acme/ns/prod/sa/ledger',
    calleeClockShiftMs: 0,
    table: null,
    classOnly: false,
    inEntrySpan: false,
    ...over,
  };
}

const roundTrip = (enc: ActionEncoder, dec: ActionDecoder, actions: Action[]) => dec.decode(structuredClone(enc.encode(actions)));

it('carries every field, with nulls and empty lists', () => {
  const actions = [
    action(),
    action({
      kind: 'tool', target: 'crm.search', access: null, host: null, zone: null, sensitive: true, failed: false, retry: false,
      parentSpanId: '', credential: { id: 'cred-2', type: null }, scopes: [], agent: null, caller: null, attributedTo: null, accessBy: null,
    }),
    action({ credential: null, spanId: 'd7ad6b7169203333' }),
    action({ kind: 'delegation', target: 'spiffe://acme/ns/prod/sa/ledger', calleeClockShiftMs: 2999.75 }),
    action({ kind: 'db', target: 'postgresql/crm', host: 'db.internal', table: 'notes+users' }),
    action({ kind: 'tool', target: 'manage_file', access: 'delete', accessBy: 'files-mcp', retry: false, classOnly: true }),
    action({ caller: null, inEntrySpan: true }),
  ];
  expect(roundTrip(new ActionEncoder(), new ActionDecoder(), actions)).toEqual(actions);
});

it('sends a repeated string once, and ids only within their batch', () => {
  const enc = new ActionEncoder();
  const first = enc.encode([action()]);
  const second = enc.encode([action({ spanId: 'e7ad6b7169203334' })]);
  expect(first.shared).toContain('api.stripe.com');
  expect(second.shared).toEqual([]);
  // trace, span, parent, attributed trace and span: each id once
  expect(second.ids).toHaveLength(5);
  expect(second.ids).toContain('e7ad6b7169203334');
});

it('keeps decoding correctly across a reset of the shared table', () => {
  const enc = new ActionEncoder();
  const dec = new ActionDecoder();
  // Enough distinct targets to pass the table's bound, in batches, then ordinary actions again.
  let last: EncodedActions | undefined;
  for (let b = 0; b < 30 && !(last?.reset); b++) {
    const batch = Array.from({ length: 10_000 }, (_, i) => action({ target: `t-${b}-${i}` }));
    last = enc.encode(batch);
    expect(dec.decode(structuredClone(last)).map((a) => a.target)).toEqual(batch.map((a) => a.target));
  }
  expect(last?.reset).toBe(true);
  const after = [action(), action({ target: 'fresh' })];
  expect(roundTrip(enc, dec, after)).toEqual(after);
});
