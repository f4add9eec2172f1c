/**
 * Retries across spans (CONTRACT §3): a repeated tool call id, or the same call (kind and target)
 * repeated by the same identity after it failed. Judged in emission order (event-time order within
 * what the builder hands out at once), with bounded memory per identity and a bounded number of
 * identities. A call's recent failures are kept by when they ended, so a later failure arriving first
 * does not hide an earlier one from the repeat that followed it.
 */
import { CLOCK_SLACK_MS } from './clock.js';
import type { ActionKind } from './types.js';

/** Tool call ids remembered per identity. */
const CALL_IDS_PER_IDENTITY = 64;
/** Failed calls remembered per identity. */
const FAILURES_PER_IDENTITY = 8;
/** Identities with retry state; the least recently active is forgotten first. */
const MAX_IDENTITIES = 100_000;
/**
 * How long after a failure a repeat still counts as its retry. Agents retry after a model round trip
 * (seconds, rarely a minute); a call repeated much later is ordinary use again.
 */
export const RETRY_WINDOW_MS = 60_000;

/** Failure ends kept per call: out-of-order arrivals can bring an earlier failure after a later one. */
const ENDS_PER_FAILURE = 8;

interface Failure {
  kind: ActionKind;
  target: string;
  /** When its recent failures ended, ascending. */
  ends: number[];
}

interface IdentityState {
  /** tool call id -> span id that carried it (a re-sent span is not a retry). */
  calls: Map<string, string> | null;
  failures: Failure[] | null;
}

/** Per-identity memory of recent tool call ids and failed calls. */
export class RetryMemory {
  private readonly identities = new Map<string, IdentityState>();
  /**
   * The identity judged last, hence already at the back of `identities`. A trace's spans come in a run of
   * one identity: moving it to the back again (a Map delete and re-insert, leaving a hole) is skipped.
   */
  private newest: string | null = null;

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
      st = { calls: null, failures: null };
      if (this.identities.size >= MAX_IDENTITIES) {
        const oldest = this.identities.keys().next().value;
        if (oldest !== undefined) this.identities.delete(oldest);
        if (oldest === this.newest) this.newest = null;
      }
      this.identities.set(identity, st);
      this.newest = identity;
    } else if (identity !== this.newest) {
      this.identities.delete(identity); // re-insert: Map order is recency order
      this.identities.set(identity, st);
      this.newest = identity;
    }

    let retry = false;
    if (callId !== null) {
      st.calls ??= new Map();
      const seen = st.calls.get(callId);
      if (seen !== undefined && seen !== spanId) retry = true;
      if (seen !== undefined) st.calls.delete(callId); // re-insert below: newest last (a new id needs no delete)
      st.calls.set(callId, spanId);
      if (st.calls.size > CALL_IDS_PER_IDENTITY) st.calls.delete(st.calls.keys().next().value!);
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
