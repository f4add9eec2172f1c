/**
 * Spans rejected for a reason an alert must say, gathered per batch (protocol.ts SuspectSpans): dated
 * ahead of the clock, so what they record would go unjudged, or claiming an identity or a peer group
 * their client may not speak for. Metrics count every rejection; these also reach the SOC.
 */
import { identityOf, peerGroupOf, type RejectReason } from '../actions/identity.js';
import type { Config } from '../config/schema.js';
import type { Receiver } from '../metrics.js';
import type { DecodedSpan } from '../model.js';
import type { SuspectSpans } from './protocol.js';

/** Distinct (reason, who) per batch; past it, the rest of the batch's are only counted in metrics. */
const MAX_PER_BATCH = 64;

export class SuspectTally {
  private readonly byKey = new Map<string, SuspectSpans>();

  constructor(private readonly config: Config) {}

  /**
   * Notes a rejected span. `now`: the clock it was judged against; `at`: the alert's time (serve: the
   * same; replay: its event time); `client`: who sent it, when rules name clients.
   */
  note(reason: RejectReason, span: DecodedSpan, receiver: Receiver, now: number, at: number, client: string | undefined): void {
    if (reason !== 'future_start' && reason !== 'identity_not_allowed' && reason !== 'peer_group_not_allowed') return;
    const own = identityOf(span, this.config)!; // all three come after the identity checks
    const byClient = reason !== 'future_start';
    const identity = byClient && client !== undefined ? client : own;
    const claimedPeerGroup = reason === 'peer_group_not_allowed' ? peerGroupOf(span, this.config) : null;
    // One per group a client claimed, not per identity it claimed it for: a Collector's whole fleet
    // sent under the wrong group is one finding, and does not use up the batch's distinct entries.
    const key = `${reason}\u0000${identity}\u0000${claimedPeerGroup ?? (byClient ? own : '')}`;
    let s = this.byKey.get(key);
    if (s === undefined) {
      if (this.byKey.size >= MAX_PER_BATCH) return;
      const peerGroup = reason === 'future_start' ? peerGroupOf(span, this.config) : '';
      s = { reason, identity, peerGroup, claimed: byClient ? own : null, claimedPeerGroup, receiver, spans: 0, traceId: span.traceId, spanId: span.spanId, aheadMs: 0, time: at };
      this.byKey.set(key, s);
    }
    s.spans++;
    if (reason === 'future_start') s.aheadMs = Math.max(s.aheadMs, span.startMs - now);
  }

  /** What was noted since the last call. */
  take(): SuspectSpans[] {
    const out = [...this.byKey.values()];
    this.byKey.clear();
    return out;
  }
}
