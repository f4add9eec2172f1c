import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/migrations.js';

/** A database file left at schema `version`, as an older Vigil wrote it (migrations up to it, no later). */
export function databaseAt(file: string, version: number): Database.Database {
  const db = new Database(file);
  for (const m of MIGRATIONS.filter((m) => m.version <= version)) db.exec(m.sql);
  db.pragma(`user_version = ${version}`);
  return db;
}
