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

/** Claimed identities (and peer groups) a suspect and its alert list; the rest are only counted. */
export const MAX_CLAIMS_LISTED = 16;

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
    if (reason !== 'future_start' && reason !== 'no_start_time' && reason !== 'identity_not_allowed' && reason !== 'peer_group_not_allowed') return;
    const own = identityOf(span, this.config)!; // all four come after the identity checks
    const byClient = reason === 'identity_not_allowed' || reason === 'peer_group_not_allowed';
    const identity = byClient && client !== undefined ? client : own;
    // One per reason and client, not per identity or group claimed: what a client claims is chosen by
    // whoever writes its spans (any pod behind a Collector sets its own service.name), so a key per
    // claim let one export raise 64 high alerts and an agent unlimited ones (review33 M6). The claims
    // are listed, the first MAX_CLAIMS_LISTED of each.
    const key = `${reason}\u0000${identity}`;
    let s = this.byKey.get(key);
    if (s === undefined) {
      if (this.byKey.size >= MAX_PER_BATCH) return;
      const peerGroup = byClient ? '' : peerGroupOf(span, this.config);
      s = {
        reason, identity, peerGroup, claimedIdentities: [], moreIdentities: false, claimedPeerGroups: [], morePeerGroups: false,
        receiver, spans: 0, traceId: span.traceId, spanId: span.spanId, aheadMs: 0, time: at,
      };
      this.byKey.set(key, s);
    }
    s.spans++;
    if (reason === 'future_start') s.aheadMs = Math.max(s.aheadMs, span.startMs - now);
    else if (byClient) {
      if (!listClaim(s.claimedIdentities, own)) s.moreIdentities = true;
      if (reason === 'peer_group_not_allowed' && !listClaim(s.claimedPeerGroups, peerGroupOf(span, this.config))) s.morePeerGroups = true;
    }
  }

  /** What was noted since the last call. */
  take(): SuspectSpans[] {
    const out = [...this.byKey.values()];
    this.byKey.clear();
    return out;
  }
}

/** Lists `name` in `names` unless it is there already; false when the list is full without it (left out). */
export function listClaim(names: string[], name: string): boolean {
  if (names.includes(name)) return true;
  if (names.length >= MAX_CLAIMS_LISTED) return false;
  names.push(name);
  return true;
}
