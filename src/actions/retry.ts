/**
 * Retries across spans (CONTRACT §3): a repeated tool call id, or the same call (kind and target)
 * repeated by the same identity after it failed. Judged in emission order (event-time order within
 * what the builder hands out at once), with bounded memory per identity and a bounded number of
 * identities. A call's recent failures are kept by when they ended, so a later failure arriving first
 * does not hide an earlier one from the repeat that followed it.
 */
import { CLOCK_SLACK_MS } from './clock.js';
import { Lru } from '../collections/lru.js';
import { RecencyQueue, type Recent } from '../collections/recency.js';
import type { ActionKind } from './types.js';

/** Tool call ids remembered per identity. */
const CALL_IDS_PER_IDENTITY = 64;
/** Failed calls remembered per identity. */
const FAILURES_PER_IDENTITY = 8;
/** Identities with retry state; the least recently active is forgotten first. */
const MAX_IDENTITIES = 100_000;
/**
 * An identity that judged nothing for this long (by the builder's clock: the wall clock serving, event
 * time in replay) is forgotten. Its failures count for RETRY_WINDOW_MS only, and a tool call id re-sent
 * after half an hour of silence is a new call, not a retry. Without it, weeks of short-lived instances
 * kept up to MAX_IDENTITIES states (about 50 MB of the ingest worker's heap, review24 M2).
 */
export const RETRY_IDLE_MS = 30 * 60_000;
/**
 * How long after a failure a repeat still counts as its retry. Agents retry after a model round trip
 * (seconds, rarely a minute); a call repeated much later is ordinary use again.
 */
const RETRY_WINDOW_MS = 60_000;

/** Failure ends kept per call: out-of-order arrivals can bring an earlier failure after a later one. */
const ENDS_PER_FAILURE = 8;

interface Failure {
  kind: ActionKind;
  target: string;
  /** When its recent failures ended, ascending. */
  ends: number[];
}

interface IdentityState extends Recent {
  identity: string;
  /** The builder's clock when it last judged an action of this identity. */
  seenAt: number;
  /** tool call id -> span id that carried it (a re-sent span is not a retry). */
  calls: Lru<string> | null;
  failures: Failure[] | null;
}

/** Per-identity memory of recent tool call ids and failed calls. */
export class RetryMemory {
  private readonly identities = new Map<string, IdentityState>();
  /** Least recently judged first: what the caps and forgetIdle drop. */
  private readonly order = new RecencyQueue<IdentityState>();
  /** The identity judged last, already at the back of `order`: a trace's spans come in a run of one identity. */
  private newest: IdentityState | null = null;
  private clock = 0;

  /** Sets the clock judged actions are stamped with, and forgets identities idle for RETRY_IDLE_MS by it. */
  forgetIdle(nowMs: number): void {
    this.clock = nowMs;
    for (let st = this.order.oldest(); st !== undefined && st.seenAt <= nowMs - RETRY_IDLE_MS; st = this.order.oldest()) this.drop(st);
    this.order.maintain(this.identities.size);
  }

  private drop(st: IdentityState): void {
    st.live = false;
    this.identities.delete(st.identity);
    if (st === this.newest) this.newest = null;
  }

  /**
   * Whether this action is a retry, updating the identity's memory. `failed` is the action's final
   * outcome (after failure de-duplication), so only real failed calls arm "repeated after an error".
   */
  judge(
    identity: string,
    kind: ActionKind,
    target: string,
    callId: string | null,
    spanId: string,
    failed: boolean,
    start: number,
    end: number,
  ): boolean {
    let st = this.identities.get(identity);
    if (st === undefined) {
      if (callId === null && !failed) return false;
      if (this.identities.size >= MAX_IDENTITIES) this.drop(this.order.oldest()!);
      st = { identity, seenAt: 0, calls: null, failures: null, seq: 0, live: true };
      this.identities.set(identity, st);
    }
    if (st !== this.newest) {
      this.order.touch(st);
      this.newest = st;
    }
    st.seenAt = this.clock;

    let retry = false;
    if (callId !== null) {
      st.calls ??= new Lru(CALL_IDS_PER_IDENTITY);
      const seen = st.calls.get(callId);
      if (seen !== undefined && seen !== spanId) retry = true;
      st.calls.set(callId, spanId); // newest last: the least recently seen id goes first
    }

    const failures = st.failures;
    let at = -1;
    if (failures !== null) {
      for (let i = 0; i < failures.length; i++) {
        if (failures[i].kind === kind && failures[i].target === target) {
          at = i;
          break;
        }
      }
      // A retry follows one of the call's failures within the window, whichever arrived first.
      if (at >= 0 && failures[at].ends.some((e) => start + CLOCK_SLACK_MS >= e && start - e <= RETRY_WINDOW_MS)) retry = true;
    }
    if (failed) {
      if (at >= 0) insertEnd(failures![at].ends, end);
      else {
        st.failures ??= [];
        st.failures.push({ kind, target, ends: [end] });
        if (st.failures.length > FAILURES_PER_IDENTITY) st.failures.shift();
      }
    } else if (at >= 0) {
      // It worked again: the failures before it are answered, a later repeat of them is ordinary use.
      const ends = failures![at].ends.filter((e) => e > start + CLOCK_SLACK_MS);
      if (ends.length > 0) failures![at].ends = ends;
      else failures!.splice(at, 1);
    }
    return retry;
  }
}

/** Adds a failure end, keeping the list ascending and the latest ENDS_PER_FAILURE. */
function insertEnd(ends: number[], end: number): void {
  let i = ends.length;
  while (i > 0 && ends[i - 1] > end) i--;
  ends.splice(i, 0, end);
  if (ends.length > ENDS_PER_FAILURE) ends.shift();
}
