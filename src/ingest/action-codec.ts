/**
 * Actions across the thread boundary. The ingest worker builds actions and the main thread judges them;
 * structured-cloning Action objects cost ~1.9 µs each on the receiving side, about as much as decoding
 * the spans again. Actions repeat a few strings (identity, peer group, target, host, zone, agent…), so
 * the worker sends each such string once (a table both sides grow in the same order) and every action
 * as a row of numbers in one transferred Float64Array; ids unique to a span travel as a per-batch list.
 */
import type { Access, Action, ActionKind } from '../actions/types.js';

/** Numbers per action row. */
const ROW = 23;
/** A table that grows past this is started afresh (both sides, signalled by `reset`): memory stays bounded. */
const MAX_SHARED_STRINGS = 250_000;
const NONE = -1;
const SCOPES_SEP = '\u0000';
const [SENSITIVE, FAILED, RETRY, CLASS_ONLY, IN_ENTRY_SPAN] = [1, 2, 4, 8, 16];

export interface EncodedActions {
  count: number;
  rows: Float64Array;
  /** Strings new to the shared table, in table order (after a reset when `reset`). */
  shared: string[];
  reset: boolean;
  /** Span and trace ids of this batch (deduplicated within it). */
  ids: string[];
}

/** The worker's half: remembers which strings the main thread already has. */
export class ActionEncoder {
  private table = new Map<string, number>();
  private shared: string[] = [];
  private reset = false;
  private ids = new Map<string, number>();
  /**
   * The last string (and its index) seen in each row position. Consecutive actions mostly carry the very
   * same string objects (one resource's identity, one trace's id): comparing references skips hashing a
   * fresh string in the table (which cost ~10% of a replay's worker time).
   */
  private readonly lastStr: unknown[] = new Array(ROW).fill(undefined);
  private readonly lastIdx = new Float64Array(ROW);
  /**
   * Table index of each scope list's joined text, by list object: scope arrays are shared (one per
   * resource or repeated span-level list, node.ts), so a list is joined and hashed once, not per action.
   * The builder's lists are frozen, never changed once made.
   */
  private scopesIdx = new WeakMap<readonly string[], number>();

  encode(actions: readonly Action[]): EncodedActions {
    if (this.table.size > MAX_SHARED_STRINGS) {
      this.table.clear();
      this.reset = true;
      this.lastStr.fill(undefined);
      this.scopesIdx = new WeakMap();
    }
    const rows = new Float64Array(actions.length * ROW);
    let o = 0;
    for (const a of actions) {
      rows[o] = a.time;
      rows[o + 1] = a.endTime;
      rows[o + 2] = this.field(2, a.identity);
      rows[o + 3] = this.field(3, a.peerGroup);
      rows[o + 4] = this.field(4, a.kind);
      rows[o + 5] = this.field(5, a.target);
      rows[o + 6] = this.field(6, a.access);
      rows[o + 7] = this.field(7, a.host);
      rows[o + 8] = this.field(8, a.zone);
      rows[o + 9] = (a.sensitive ? SENSITIVE : 0) | (a.failed ? FAILED : 0) | (a.retry ? RETRY : 0) | (a.classOnly ? CLASS_ONLY : 0) | (a.inEntrySpan ? IN_ENTRY_SPAN : 0);
      rows[o + 10] = this.field(10, a.traceId, true);
      rows[o + 11] = this.id(a.spanId);
      rows[o + 12] = this.id(a.parentSpanId);
      rows[o + 13] = this.field(13, a.credential?.id ?? null);
      rows[o + 14] = a.credential ? this.field(14, a.credential.type) : NONE;
      rows[o + 15] = this.scopes(a.scopes);
      rows[o + 16] = this.field(16, a.agent);
      rows[o + 17] = this.field(17, a.caller ?? null);
      rows[o + 18] = this.id(a.attributedTo?.traceId ?? null);
      rows[o + 19] = this.id(a.attributedTo?.spanId ?? null);
      rows[o + 20] = this.field(20, a.accessBy ?? null);
      rows[o + 21] = a.calleeClockShiftMs ?? 0;
      rows[o + 22] = this.field(22, a.table ?? null);
      o += ROW;
    }
    const out: EncodedActions = { count: actions.length, rows, shared: this.shared, reset: this.reset, ids: [...this.ids.keys()] };
    this.shared = [];
    this.reset = false;
    this.ids.clear();
    this.lastStr[10] = undefined; // ids are numbered per batch
    return out;
  }

  private scopes(list: readonly string[]): number {
    let i = this.scopesIdx.get(list);
    if (i === undefined) this.scopesIdx.set(list, (i = this.str(list.join(SCOPES_SEP))));
    return i;
  }

  /** `str` (or `id` for per-batch ids) with the row position's last string remembered. */
  private field(at: number, s: string | null, perBatch = false): number {
    if (s === this.lastStr[at]) return this.lastIdx[at];
    const i = perBatch ? this.id(s) : this.str(s);
    this.lastStr[at] = s;
    this.lastIdx[at] = i;
    return i;
  }

  private str(s: string | null): number {
    if (s === null) return NONE;
    let i = this.table.get(s);
    if (i === undefined) {
      this.table.set(s, (i = this.table.size));
      this.shared.push(s);
    }
    return i;
  }

  private id(s: string | null): number {
    if (s === null) return NONE;
    let i = this.ids.get(s);
    if (i === undefined) this.ids.set(s, (i = this.ids.size));
    return i;
  }
}

/** The main thread's half: the same table, and scope lists shared between the actions that carry them. */
export class ActionDecoder {
  private table: string[] = [];
  private scopeLists = new Map<number, string[]>();

  decode(batch: EncodedActions): Action[] {
    if (batch.reset) {
      this.table = [];
      this.scopeLists.clear();
    }
    for (const s of batch.shared) this.table.push(s);
    const { rows, ids } = batch;
    const t = this.table;
    const str = (i: number): string | null => (i === NONE ? null : t[i]);
    const actions: Action[] = new Array(batch.count);
    for (let n = 0, o = 0; n < batch.count; n++, o += ROW) {
      const flags = rows[o + 9];
      const credId = rows[o + 13];
      const attrTrace = rows[o + 18];
      actions[n] = {
        time: rows[o],
        endTime: rows[o + 1],
        identity: t[rows[o + 2]],
        peerGroup: t[rows[o + 3]],
        kind: t[rows[o + 4]] as ActionKind,
        target: t[rows[o + 5]],
        access: str(rows[o + 6]) as Access | null,
        host: str(rows[o + 7]),
        zone: str(rows[o + 8]),
        sensitive: (flags & SENSITIVE) !== 0,
        failed: (flags & FAILED) !== 0,
        retry: (flags & RETRY) !== 0,
        traceId: ids[rows[o + 10]],
        spanId: ids[rows[o + 11]],
        parentSpanId: ids[rows[o + 12]],
        credential: credId === NONE ? null : { id: t[credId], type: str(rows[o + 14]) },
        scopes: this.scopes(rows[o + 15]),
        agent: str(rows[o + 16]),
        caller: str(rows[o + 17]),
        attributedTo: attrTrace === NONE ? null : { traceId: ids[attrTrace], spanId: ids[rows[o + 19]] },
        accessBy: str(rows[o + 20]),
        calleeClockShiftMs: rows[o + 21],
        table: str(rows[o + 22]),
        classOnly: (flags & CLASS_ONLY) !== 0,
        inEntrySpan: (flags & IN_ENTRY_SPAN) !== 0,
      };
    }
    return actions;
  }

  private scopes(i: number): string[] {
    let list = this.scopeLists.get(i);
    if (list === undefined) {
      const joined = this.table[i];
      this.scopeLists.set(i, (list = joined === '' ? [] : joined.split(SCOPES_SEP)));
    }
    return list;
  }
}
