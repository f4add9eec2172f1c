/** What the pipeline hands its actions to, in order, and runs in every group commit (pipeline.ts). */
import type { Action } from './actions/types.js';

/** Something that wants every action, in order. */
export type ActionSink = (actions: Action[]) => void;

/** A stage after the actions (retention, the detection engine). It also writes its state in the group commit. */
export interface Stage {
  process(actions: readonly Action[]): void;
  /** No more actions will come (end of a replay): settle anything pending. */
  finish(): void;
  /**
   * Called before each commit, outside its transaction: work announced as soon as it is done (an alert
   * raised with the clock) must not sit in a transaction a failing commit would roll back.
   */
  beforeCommit(): void;
  /** Called inside the commit transaction; `final` at shutdown and the end of a replay. */
  commit(final: boolean): void;
  /** After the commit: `ok` when it committed; else what it wrote is still to be written. */
  afterCommit(ok: boolean): void;
  /** What it keeps in memory is over its bound: it waits to be written by a store that refuses writes. */
  overBound?(): boolean;
}
