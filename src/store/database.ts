/**
 * Opens the SQLite database Vigil keeps its state in. WAL mode lets the API read while the pipeline
 * writes; synchronous=NORMAL makes each commit durable against a crash of the process (kill -9) — the
 * WAL is in the OS page cache once the commit returns — but not against a power cut or kernel crash,
 * which may lose the last commits. That is the durability rule the README documents.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';

export type Db = Database.Database;

/** Opens (creating if needed) the database at `file`, or an in-memory one for `:memory:`. */
export function openDatabase(file: string): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // A reader (the CLI's `baseline show`, a second process) must not make the daemon fail on SQLITE_BUSY.
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}
