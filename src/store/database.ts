/**
 * Opens the SQLite database Vigil keeps its state in. WAL mode lets the API read while the pipeline
 * writes; synchronous=NORMAL makes each commit durable against a crash of the process (kill -9) — the
 * WAL is in the OS page cache once the commit returns — but not against a power cut or kernel crash,
 * which may lose the last commits. That is the durability rule the README documents.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { UserError } from '../errors.js';
import { isFolder, makeFolders } from './folders.js';
import { migrate } from './migrations.js';

export type Db = Database.Database;

/**
 * How long migrations wait for another program's write lock (a sqlite3 shell, a backup's checkpoint)
 * before they fail the start, where waiting freezes nothing: the daemon's run in a worker thread while
 * the API answers (upgrade.ts), and a replay has nothing else to do meanwhile (review47 F7).
 */
export const MIGRATION_WAIT_MS = 30_000;

/**
 * Opens (creating if needed) the database at `file`, or an in-memory one for `:memory:`.
 * @param setting what names the file in messages (`storage.path`, `--db`).
 * @param migrationWaitMs how long the migrations wait for another program's write lock (the writes after
 *   them wait `busy_timeout`, 100 ms, below): `MIGRATION_WAIT_MS` where waiting freezes nothing.
 * @throws UserError when the file cannot be the store: a folder, not SQLite, unwritable, newer, no room.
 */
export function openDatabase(file: string, setting = 'storage.path', migrationWaitMs = 100): Db {
  let db: Db | undefined;
  let claimed = false;
  try {
    if (file !== ':memory:') {
      makeFolders(path.dirname(file));
      // A new store is private to the owner (alerts name identities and credentials); SQLite gives its
      // -wal and -shm files the same mode. An existing file keeps the mode its operator chose.
      for (const f of [file, `${file}-lock`]) fs.closeSync(fs.openSync(f, 'a', 0o600));
    }
    db = new Database(file);
    if (file !== ':memory:') claimStore(db, file);
    claimed = true;
    db.pragma('main.journal_mode = WAL'); // not the lock database: it needs no journal files
    db.pragma('synchronous = NORMAL');
    // The WAL is reused, not shrunk, after a checkpoint; one that a long reader (a backup, an open sqlite3
    // shell) let grow to gigabytes would keep that size until shutdown (review24 L1). This cuts it back
    // once the checkpoint after the reader resets it.
    db.pragma('main.journal_size_limit = 67108864');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${migrationWaitMs}`);
    migrate(db);
    // No other Vigil writes this store (claimStore), and in WAL mode readers (sqlite3, backups) never block
    // a write. Only another program's write transaction does (an operator's sqlite3 shell, a backup tool's
    // checkpoint): a write waits for it this long, then fails as a full disk would (exports refused as
    // retryable), rather than freezing the daemon's one thread for 5 s a statement, /healthz included
    // (review35 M1). Several writers may each wait it out in a row (the commit, the delivery lanes): at
    // 250 ms /healthz took 1.1 s, at 100 ms 445 ms. A backup tool's checkpoint longer than this (18-59 ms
    // measured here) refuses exports for a second, as retryable (review36 L4).
    db.pragma('busy_timeout = 100');
    return db;
  } catch (err) {
    db?.close();
    throw new UserError(`cannot use ${setting} (${file}): ${whyUnusable(file, err, claimed)}`);
  }
}

/**
 * A SQLite error while starting (loading baselines, peer groups, the outbox), as the same one-line message
 * as `openDatabase`'s, not a stack trace and the exit code that asks a supervisor to restart (review35 M3:
 * a store locked by a sqlite3 shell, or with damaged pages); any other error as it is.
 */
export function startFailure(file: string, setting: string, err: unknown): unknown {
  return err instanceof Database.SqliteError ? new UserError(`cannot use ${setting} (${file}): ${whyUnusable(file, err, true)}`) : err;
}

/** Runs `start`, which reads the store, with its SQLite errors as `startFailure` says. */
export function readingStore<T>(file: string, setting: string, start: () => T): T {
  try {
    return start();
  } catch (err) {
    throw startFailure(file, setting, err);
  }
}

/**
 * One process per store. Two daemons on one file would each keep their own counters, baselines and
 * alert numbering in memory and overwrite each other's checkpoints. The claim is an exclusive lock
 * on a small companion database (`<file>-lock`, attached to this connection), held until the
 * connection closes; the kernel drops it when the process ends, `kill -9` included, so it never
 * goes stale. Readers of the store itself (`sqlite3`, a read-only connection) are not affected.
 */
function claimStore(db: Db, file: string): void {
  // Fail at once instead of waiting: the holder keeps the lock for as long as it runs.
  db.pragma('busy_timeout = 0');
  db.prepare('ATTACH DATABASE ? AS owner').run(`${file}-lock`);
  db.pragma('owner.locking_mode = EXCLUSIVE');
  db.exec('CREATE TABLE IF NOT EXISTS owner.holder (id INTEGER PRIMARY KEY, pid INTEGER, since TEXT)');
  // A write takes the exclusive lock, which EXCLUSIVE locking mode never releases.
  db.prepare('INSERT OR REPLACE INTO owner.holder VALUES (1, ?, ?)').run(process.pid, new Date().toISOString());
}

/**
 * What others than its owner may do with the store, or null when it is private: a store made by an
 * earlier version (before 0600) or copied keeps its modes, and alerts name identities and credentials.
 */
export function storeExposure(file: string): string | null {
  if (file === ':memory:') return null;
  const mode = fs.statSync(file).mode & 0o777;
  return (mode & 0o077) === 0 ? null : `${file} can be read or written by other users (mode 0${mode.toString(8)}): chmod 600 ${file} ${file}-wal ${file}-shm`;
}

/** @param claimed this process holds the store (claimStore): a lock now is another program's, not Vigil's. */
function whyUnusable(file: string, err: unknown, claimed = false): string {
  const code = (err as { code?: string }).code;
  if (claimed && code === 'SQLITE_BUSY') {
    return 'another program holds a write lock on it (a sqlite3 shell or a script in a transaction?); end it, then start Vigil';
  }
  if (file !== ':memory:' && isFolder(file)) return 'it is a folder; name a file in it, such as data/vigil.db';
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'part of its folder path is a file, not a folder';
  if (code === 'ENOENT') return `its folder cannot be created (${(err as Error).message})`;
  if (code === 'SQLITE_BUSY') return 'another Vigil process (serve, or replay --db) is using it; stop that one, or give this one another path';
  if (code === 'SQLITE_FULL') {
    return 'the disk is full: writing the store (migrating it to a new version too) needs free room for its write-ahead log, up to the size of what it rewrites';
  }
  if (code === 'SQLITE_NOTADB') return 'it is not a SQLite database (another file, or a damaged one)';
  if (code === 'SQLITE_CORRUPT') return `it is damaged (${(err as Error).message}); restore it from a backup, or move it and its -wal file away to start a new store`;
  if (code === 'SQLITE_CANTOPEN' || code === 'EACCES' || code === 'EROFS') return `it cannot be opened for writing (${(err as Error).message})`;
  return (err as Error).message;
}
