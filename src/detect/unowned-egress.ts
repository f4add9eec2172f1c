/**
 * Egress judged as the flow of an identity whose caller was not known yet (review31 F3, review32 H1). A
 * delegated agent's spans end before its caller's, and each process exports on its own timer, so a
 * callee's egress can reach Vigil before any span of the task that delegated it; an agent told to keep the
 * delegated call open past an export interval can make sure of it. The caller's spans, arriving later,
 * name the hop (a delegation action whose target is the identity the egress was judged for): the egress
 * is then judged again as the caller's flow, and remembered as its, for a hop into the caller in turn
 * (A -> B -> C, exported C, B, A).
 */
import { CLOCK_SLACK_MS } from '../actions/clock.js';
import type { Action } from '../actions/types.js';
import { Lru } from '../collections/lru.js';

/**
 * Traces whose egress is kept. The hop comes when the delegated call ends, plus an export interval: an
 * agent that holds the call open longer than the fleet takes to send from this many other traces gets
 * past (each kept trace holds an action or two: ~6 MB at the bound).
 */
const MAX_TRACES = 16_384;
/**
 * Egress kept per trace: the latest send to each host, per identity it was judged for (a judgement
 * against reads before the latest send covers the earlier ones), so sends to a usual host after the
 * exfiltration do not push it out (review32 M1); past this many, the oldest goes.
 */
const MAX_PER_TRACE = 8;

interface Judged {
  egress: Action;
  /** Whose flow it was judged as. */
  owner: string;
}

export class UnownedEgress {
  private readonly byTrace = new Lru<Judged[]>(MAX_TRACES);

  /** `egress` was judged as `owner`'s flow (an external send, `isEgress`). */
  remember(egress: Action, owner: string): void {
    const kept = this.byTrace.get(egress.traceId);
    if (kept === undefined) {
      this.byTrace.set(egress.traceId, [{ egress, owner }]);
      return;
    }
    const same = kept.findIndex((j) => j.owner === owner && j.egress.host === egress.host);
    if (same >= 0) kept.splice(same, 1);
    kept.push({ egress, owner });
    if (kept.length > MAX_PER_TRACE) kept.shift();
  }

  /**
   * The egress judged as the flow of `hop`'s callee in its trace, from the hop on, now forgotten; nearly
   * always none. Its times are the callee's clock's, as judged (the hop's, less the callee's shift).
   */
  takeOwnedByCallee(hop: Action): Action[] {
    if (hop.kind !== 'delegation') return [];
    const kept = this.byTrace.get(hop.traceId);
    if (kept === undefined) return [];
    const from = hop.time - (hop.calleeClockShiftMs ?? 0) - CLOCK_SLACK_MS;
    const taken = kept.filter((j) => j.owner === hop.target && j.egress.time >= from);
    if (taken.length === 0) return [];
    const left = kept.filter((j) => !taken.includes(j));
    if (left.length === 0) this.byTrace.delete(hop.traceId);
    else this.byTrace.set(hop.traceId, left);
    return taken.map((j) => j.egress);
  }
}
