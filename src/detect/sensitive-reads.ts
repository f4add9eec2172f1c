/**
 * Recent sensitive reads of one identity, what lateral_chaining judges its egress against. Saved with the
 * commits (SavedReads), so a restart between a read and the send after it still raises the flow.
 */
import type { SensitiveRead } from '../../detectors/types.js';

/**
 * Sensitive reads remembered per identity, in each of two tables: the latest read of each source, and the
 * latest of each source in each task. The oldest go first.
 */
const MAX_READS = 32;

/** What is saved of an identity's reads. */
export interface SavedReadsBody {
  latest: SensitiveRead[];
  inTask: SensitiveRead[];
}

/**
 * Recent sensitive reads of one identity (the trace owner). Keyed so that reading again evicts nothing:
 * 33 re-reads of one routinely read secret pushed a customer record read out of a plain list of 32
 * (review31 F5). An egress is judged against its own task's reads with no time limit (CONTRACT §4: within
 * a trace), and against other tasks' within the window.
 */
export class SensitiveReads {
  /** Source -> its latest read, whatever the task. Made at the first read: most identities read nothing sensitive. */
  private latest: Map<string, SensitiveRead> | null = null;
  /** Task and source -> the latest read of that source in that task. */
  private inTask: Map<string, SensitiveRead> | null = null;
  constructor(
    private readonly windowMs: number,
    /** Told of every read added (the reads are saved with the next commit: SavedReads). */
    private readonly changed: () => void = () => {},
  ) {}

  add(read: SensitiveRead): void {
    keepLatest((this.latest ??= new Map()), read.target, read);
    keepLatest((this.inTask ??= new Map()), read.task + '\u0000' + read.target, read);
    this.changed();
  }

  /** What is kept, to save (SavedReads). */
  snapshot(): SavedReadsBody {
    return { latest: [...(this.latest?.values() ?? [])], inTask: [...(this.inTask?.values() ?? [])] };
  }

  /** Restores a saved snapshot (before any read is added). */
  restore(body: SavedReadsBody): void {
    for (const r of body.latest) keepLatest((this.latest ??= new Map()), r.target, r);
    for (const r of body.inTask) keepLatest((this.inTask ??= new Map()), r.task + '\u0000' + r.target, r);
  }

  /** The latest read of each source in `task`. */
  ofTask(task: string): SensitiveRead[] {
    const out: SensitiveRead[] = [];
    for (const r of this.inTask?.values() ?? []) if (r.task === task) out.push(r);
    return out;
  }

  /** What an egress at `time` in `task` is judged against (`DetectorInput.sensitiveReads`). */
  before(time: number, task: string): SensitiveRead[] {
    if (this.latest === null || this.inTask === null) return [];
    const from = time - this.windowMs;
    const out: SensitiveRead[] = [];
    for (const r of this.inTask.values()) if (r.task === task && r.time <= time) out.push(r);
    for (const r of this.latest.values()) if (r.task !== task && r.time >= from && r.time <= time) out.push(r);
    return out;
  }
}

/** Sets `key` to `read` unless it holds a later one; past MAX_READS keys, the one read longest ago goes. */
function keepLatest(table: Map<string, SensitiveRead>, key: string, read: SensitiveRead): void {
  const had = table.get(key);
  if (had !== undefined) {
    if (had.time <= read.time) table.set(key, read);
    return;
  }
  table.set(key, read);
  if (table.size <= MAX_READS) return;
  let oldestKey = key;
  let oldest = read.time;
  for (const [k, r] of table) {
    if (r.time < oldest) {
      oldest = r.time;
      oldestKey = k;
    }
  }
  table.delete(oldestKey);
}
