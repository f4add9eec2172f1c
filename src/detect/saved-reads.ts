/**
 * Identities' recent sensitive reads, saved in SQLite (`sensitive_reads`, one row per identity) with the
 * group commit and read back when the identity next acts after a restart: lateral_chaining judges a
 * task's sends against its reads however long after (CONTRACT §4: within a trace), and a restart between
 * the read and the send (an upgrade, a crash the supervisor restarted) made the flow unjudged (review40 M1).
 */
import type { Db } from '../store/database.js';
import type { SavedReadsBody } from './sensitive-reads.js';

export class SavedReads {
  /** Identities with a saved row: the others (nearly all) are never looked up. */
  private readonly saved: Set<string>;
  private readonly select;
  private readonly upsert;
  private readonly remove;

  constructor(db: Db) {
    this.saved = new Set(db.prepare('SELECT identity FROM sensitive_reads').pluck().all() as string[]);
    this.select = db.prepare('SELECT body FROM sensitive_reads WHERE identity = ?').pluck();
    this.upsert = db.prepare('INSERT INTO sensitive_reads (identity, body) VALUES (?, ?) ON CONFLICT (identity) DO UPDATE SET body = excluded.body');
    this.remove = db.prepare('DELETE FROM sensitive_reads WHERE identity = ?');
  }

  load(identity: string): SavedReadsBody | undefined {
    if (!this.saved.has(identity)) return undefined;
    const body = this.select.get(identity) as string | undefined;
    return body === undefined ? undefined : (JSON.parse(body) as SavedReadsBody);
  }

  /** In the commit's transaction. */
  save(identity: string, body: SavedReadsBody): void {
    this.upsert.run(identity, JSON.stringify(body));
    this.saved.add(identity);
  }

  /** The identity is forgotten (retention). In a transaction. */
  delete(identity: string): void {
    if (this.saved.delete(identity)) this.remove.run(identity);
  }
}
