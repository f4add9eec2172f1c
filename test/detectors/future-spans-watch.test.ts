/**
 * Many identities dated ahead of Vigil's clock at once: the log says Vigil's own clock is the likely cause
 * (review35 L2: with the daemon's clock behind, 50 agents each raised an alert blaming the agent).
 */
import { expect, it } from 'vitest';
import { FutureSpansWatch } from '../../src/detect/telemetry-integrity.js';
import type { SuspectSpans } from '../../src/ingest/protocol.js';
import type { Logger } from '../../src/log.js';

const MIN = 60_000;

it('warns once five identities are dated ahead within ten minutes, then at most once an hour', () => {
  let now = Date.UTC(2026, 10, 23);
  const warned: string[] = [];
  const logger = { warn: (_o: object, msg: string) => warned.push(msg) } as unknown as Logger;
  const watch = new FutureSpansWatch(logger, () => now);
  const ahead = (identity: string, reason: SuspectSpans['reason'] = 'future_start') =>
    watch.note({ reason, identity, peerGroup: 'g', claimedIdentities: [], moreIdentities: false, claimedPeerGroups: [], morePeerGroups: false, receiver: 'http', spans: 1, traceId: 't', spanId: 's', aheadMs: 10 * MIN } as SuspectSpans);
  // One agent ahead again and again, an agent an hour ago, and other reasons: not a clock of Vigil's.
  ahead('agent-0');
  now += 11 * MIN;
  for (let i = 0; i < 10; i++) ahead('agent-1');
  for (let i = 2; i < 5; i++) ahead(`agent-${i}`);
  ahead('client-1', 'identity_not_allowed');
  expect(warned).toEqual([]);
  ahead('agent-5');
  expect(warned).toEqual([expect.stringContaining("5 identities sent spans dated ahead of this host's clock within 10 minutes: this host's clock is likely behind")]);
  for (let i = 6; i < 50; i++) ahead(`agent-${i}`);
  expect(warned).toHaveLength(1);
  now += 61 * MIN;
  for (let i = 50; i < 55; i++) ahead(`agent-${i}`);
  expect(warned).toHaveLength(2);
});
