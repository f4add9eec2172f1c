/**
 * Egress judged as its actor's own because no caller was known when it arrived (review31 F3). A delegated
 * agent's spans end before its caller's, and each process exports on its own timer, so a callee's egress
 * can reach Vigil before any span of the task that delegated it; an agent told to keep the delegated call
 * open past an export interval can make sure of it. The caller's spans, arriving later, name the hop
 * (a delegation action whose target is the callee's identity): the egress it remembered here is then
 * judged again, as the caller's flow.
 */
import { CLOCK_SLACK_MS } from '../actions/clock.js';
import type { Action } from '../actions/types.js';
import { Lru } from '../collections/lru.js';

/**
 * Traces whose unowned egress is kept. The hop comes when the delegated call ends, plus an export interval:
 * an agent that holds the call open longer than the fleet takes to send from this many other traces gets
 * past (each kept trace holds an action or two: ~6 MB at the bound).
 */
const MAX_TRACES = 16_384;
/** Egress actions kept per trace (the latest): a callee posting more in one task is already a pattern. */
const MAX_PER_TRACE = 4;

export class UnownedEgress {
  private readonly byTrace = new Lru<Action[]>(MAX_TRACES);

  remember(a: Action): void {
    const kept = this.byTrace.get(a.traceId);
    if (kept === undefined) this.byTrace.set(a.traceId, [a]);
    else {
      kept.push(a);
      if (kept.length > MAX_PER_TRACE) kept.shift();
    }
  }

  /** The egress `hop`'s callee made in its trace from the hop on, now forgotten; nearly always none. */
  takeDelegatedBy(hop: Action): Action[] {
    if (hop.kind !== 'delegation') return [];
    const kept = this.byTrace.get(hop.traceId);
    if (kept === undefined) return [];
    const from = hop.time - CLOCK_SLACK_MS;
    const taken = kept.filter((a) => a.identity === hop.target && a.time >= from);
    if (taken.length === 0) return [];
    const left = kept.filter((a) => !taken.includes(a));
    if (left.length === 0) this.byTrace.delete(hop.traceId);
    else this.byTrace.set(hop.traceId, left);
    return taken;
  }
}
