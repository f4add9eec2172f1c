/**
 * The store's file must stay the one Vigil opened. SQLite goes on writing to a file deleted while open (a
 * tmp reaper, a cleanup job), and at the next start everything written to it is gone, acknowledged exports
 * and raised alerts included (review35 M2). So the path is checked once a second, before a commit: once
 * it names no file, or another one, the connection turns read-only, so the store refuses writes as on a
 * read-only volume (exports refused as retryable, `/readyz` `store_unavailable`, alerts kept in memory,
 * announced only once stored) until Vigil is restarted. A deleted store is then written back at its path
 * (SQLite's online backup), so that restart loses nothing; a file put there by someone else (a restore) is
 * left alone. Run first among the stages, before any can raise an alert in this commit.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Action } from '../actions/types.js';
import type { Logger } from '../log.js';
import type { Stage } from '../stage.js';
import type { Db } from './database.js';
import { makeFolders } from './folders.js';

const CHECK_EVERY_MS = 1000;

export class StoreFileGuard implements Stage {
  private readonly opened: fs.Stats;
  private checkedAt = 0;
  /** Why the store can no longer be written, once it cannot. */
  private lost: string | null = null;

  constructor(private readonly db: Db, private readonly file: string, private readonly logger: Logger) {
    this.opened = fs.statSync(file);
  }

  process(_actions: readonly Action[]): void {}
  finish(): void {}
  commit(): void {}
  afterCommit(): void {}

  beforeCommit(): void {
    if (this.lost === null && Date.now() - this.checkedAt >= CHECK_EVERY_MS) {
      this.checkedAt = Date.now();
      this.lost = this.check();
    }
    if (this.lost !== null) throw new Error(this.lost); // (the commit's failure is what is logged, once)
  }

  private check(): string | null {
    let now: fs.Stats | undefined;
    try {
      now = fs.statSync(this.file);
    } catch {
      // (gone, its folder too)
    }
    if (now === undefined) {
      this.db.pragma('query_only = 1'); // before the copy: nothing written after it would survive a restart
      this.writeBack();
      return `storage.path (${this.file}) was deleted while Vigil ran; what it holds is written back there: restart Vigil to go on with it`;
    }
    if (now.ino === this.opened.ino && now.dev === this.opened.dev && now.nlink > 0) return null;
    this.db.pragma('query_only = 1');
    // A bind-mounted file deleted on the host stays at the path, with no link left (review36 L3): nothing to write back to.
    if (now.nlink === 0) return `storage.path (${this.file}) was deleted where it is mounted from: restart Vigil on a store that exists`;
    return `storage.path (${this.file}) now names another file than the one Vigil opened (a restore?): restart Vigil to use it`;
  }

  private writeBack(): void {
    // Private to the owner, as a new store is (alerts name identities and credentials); a cleanup job often
    // takes the folder too (review36 M5).
    try {
      makeFolders(path.dirname(this.file));
      fs.closeSync(fs.openSync(this.file, 'a', 0o600));
    } catch {
      // (the backup says why it cannot write there)
    }
    this.db.backup(this.file).then(
      () => this.logger.error({ path: this.file }, 'the deleted store was written back at storage.path; restart Vigil to go on with it (exports are refused until then)'),
      (err: unknown) => this.logger.error({ err, path: this.file }, 'the deleted store could not be written back at storage.path: what it holds is lost at the next start'),
    );
  }
}
