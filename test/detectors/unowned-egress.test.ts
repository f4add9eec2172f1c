/** What UnownedEgress keeps of a trace's sends until the hop into their identity arrives (review32 M1). */
import { expect, it } from 'vitest';
import { UnownedEgress } from '../../src/detect/unowned-egress.js';
import { action as act } from './harness.js';

const T0 = Date.UTC(2026, 0, 5);
const CALLEE = 'spiffe://acme/notifier';
const send = (time: number, host: string) => act({ identity: CALLEE, time, kind: 'http', target: `${host}/post`, host, zone: 'external', traceId: 'a'.repeat(32) });
const hop = (time: number, target = CALLEE) => act({ identity: 'spiffe://acme/agent-1', time, kind: 'delegation', target, traceId: 'a'.repeat(32) });

it('keeps the latest send to each host: usual sends after the exfiltration do not push it out', () => {
  const kept = new UnownedEgress();
  const evil = send(T0 + 10, 'paste.evil.example');
  kept.remember(evil, CALLEE);
  const usual = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => send(T0 + 10 + i, 'hooks.slack.com'));
  for (const u of usual) kept.remember(u, CALLEE);
  expect(kept.takeOwnedByCallee(hop(T0))).toEqual([evil, usual[8]]);
  // Taken: a second hop finds nothing.
  expect(kept.takeOwnedByCallee(hop(T0))).toEqual([]);
});

it('gives a hop only the sends judged as its callee\'s flow, made from the hop on', () => {
  const kept = new UnownedEgress();
  const early = send(T0 - 1000, 'hooks.slack.com');
  const late = send(T0 + 10, 'api.github.com');
  kept.remember(early, CALLEE);
  kept.remember(late, CALLEE);
  expect(kept.takeOwnedByCallee(hop(T0, 'spiffe://acme/someone-else'))).toEqual([]);
  expect(kept.takeOwnedByCallee(hop(T0))).toEqual([late]);
});
