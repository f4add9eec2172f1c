/**
 * Clock correction (src/actions/clock.ts): a remote child that does not fit its caller is moved onto the
 * caller's clock, with the spans of its process below it; one that fits keeps its times.
 */
import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { builder, G, http, span, SpanKind, tool } from './fixtures.js';

const SERVICE = { 'service.name': 'fetch-server', 'nhi.identity': 'spiffe://acme/mcp/fetch' };
const MIN = 60_000;

/** The agent's tool 2 [1000, 1600] calls the fetch service (CLIENT 3, [1010, 1510]); the service (SERVER 4)
 *  makes an HTTP call (5). The service's clock is `skew` off the agent's. */
function call(skew: number, server: [number, number] = [1012, 1500]) {
  return [
    tool(2, 1, 'fetch', { parent: null, start: 1000, end: 1600 }),
    http(3, 2, 'POST', 'https://fetch.internal/call', { start: 1010, end: 1510 }),
    span({ id: 4, parent: 3, kind: SpanKind.SERVER, name: 'POST /call', start: server[0] + skew, end: server[1] + skew, resource: SERVICE }),
    http(5, 4, 'POST', 'https://pastebin.com/api', { start: 1100 + skew, end: 1300 + skew, resource: SERVICE }),
  ];
}

const times = (actions: Action[]) => Object.fromEntries(actions.map((a) => [a.kind === 'delegation' ? 'hop' : a.target, [a.time, a.endTime]]));

describe('a server span that does not fit the call it serves', () => {
  it('runs behind: it and its own spans move forward into the call, the hop with them', () => {
    const { b } = builder();
    b.add(call(-90 * MIN), 0);
    // Moved by the least that makes it fit: to start with the call (1010), 2 ms earlier than it really did.
    expect(times(b.take(G))).toEqual({
      fetch: [1000, 1600],
      'fetch.internal/call': [1010, 1510],
      hop: [1010, 1498],
      'pastebin.com/api': [1098, 1298],
    });
  });

  it('runs ahead: it moves back to end with the call', () => {
    const { b } = builder();
    b.add(call(90 * MIN), 0);
    expect(times(b.take(G))['pastebin.com/api']).toEqual([1110, 1310]);
  });

  it('lasts longer than the call (a clock stepped mid-call): it starts with the call', () => {
    const { b } = builder();
    b.add(call(-90 * MIN, [1012, 2012]), 0);
    expect(times(b.take(G)).hop).toEqual([1010, 2010]);
  });

  it('fits: nothing moves (network latency is no skew)', () => {
    const { b } = builder();
    b.add(call(0), 0);
    expect(times(b.take(G))['pastebin.com/api']).toEqual([1100, 1300]);
  });

  it('a late span of the moved server, arriving after the trace was emitted, moves with it', () => {
    const { b } = builder();
    b.add(call(-90 * MIN), 0);
    b.take(G);
    b.add([http(6, 4, 'GET', 'https://pastebin.com/raw', { start: 1400 - 90 * MIN, end: 1450 - 90 * MIN, resource: SERVICE })], G);
    expect(times(b.take(3 * G))['pastebin.com/raw']).toEqual([1398, 1448]);
  });
});

describe('messaging is asynchronous', () => {
  const produce = (consumerStart: number) => [
    span({ id: 2, parent: null, kind: SpanKind.PRODUCER, name: 'publish jobs', start: 1000, end: 1010, attrs: { 'messaging.system': 'kafka', 'messaging.destination.name': 'jobs', 'messaging.operation.type': 'publish' } }),
    span({ id: 3, parent: 2, kind: SpanKind.CONSUMER, name: 'process jobs', start: consumerStart, end: consumerStart + 50, resource: SERVICE }),
    http(4, 3, 'GET', 'https://api.internal/x', { start: consumerStart + 5, end: consumerStart + 20, resource: SERVICE }),
  ];

  it('a consumer that starts before its producer moves to the producer\'s start', () => {
    const { b } = builder();
    b.add(produce(1000 - 90 * MIN), 0);
    expect(times(b.take(G))['api.internal/x']).toEqual([1005, 1020]);
  });

  it('a consumer that runs after its producer ended keeps its times', () => {
    const { b } = builder();
    b.add(produce(5000), 0);
    expect(times(b.take(G))['api.internal/x']).toEqual([5005, 5020]);
  });
});
