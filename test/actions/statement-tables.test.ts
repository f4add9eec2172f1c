/**
 * The tables a DB statement changes (review34 E2): read from its text when the span names no collection,
 * so unexpected_write can judge writes per table while the target stays per database (CONTRACT §3).
 */
import { describe, expect, it } from 'vitest';
import { Classifier } from '../../src/actions/classify.js';
import { NO_TABLE, readStatement, UNREAD_TABLE, writtenTables } from '../../src/actions/statement.js';
import { config, span, SpanKind, type SpanInit } from './fixtures.js';

it.each([
  ["UPDATE users SET role = 'admin' WHERE id = $1", 'write', 'users'],
  ['INSERT INTO notes (body) VALUES ($1)', 'write', 'notes'],
  ['insert into public.notes values ($1)', 'write', 'notes'],
  ['UPDATE "crm"."Users" SET x = 1', 'write', 'users'],
  ['update `Users` set a = 1', 'write', 'users'],
  ['INSERT OR REPLACE INTO kv VALUES ($1)', 'write', 'kv'],
  ['INSERT IGNORE INTO kv VALUES ($1)', 'write', 'kv'],
  ['MERGE INTO accounts USING staged ON accounts.id = staged.id', 'write', 'accounts'],
  ['DELETE FROM ONLY orders WHERE id = $1', 'delete', 'orders'],
  ['TRUNCATE TABLE sessions', 'delete', 'sessions'],
  ['DROP TABLE IF EXISTS audit_log', 'delete', 'audit_log'],
  ['BEGIN; DELETE FROM sessions; COMMIT', 'delete', 'sessions'],
  ['EXPLAIN ANALYZE DELETE FROM big', 'delete', 'big'],
])('%s: %s on %s', (text, access, table) => {
  expect(readStatement(text)).toEqual({ access, table });
});

it('names no table for reads, privilege changes, or a DROP of anything but a table', () => {
  expect(readStatement('SELECT * FROM users WHERE id = $1')).toEqual({ access: 'read', table: null });
  expect(readStatement('GRANT ALL ON users TO mallory')).toEqual({ access: 'execute', table: null });
  expect(readStatement('DROP ROLE admin')).toEqual({ access: 'delete', table: null });
  expect(readStatement('INSERT INTO (SELECT 1)')).toEqual({ access: 'write', table: null });
});

it('names every table several statements or a CTE change, sorted: a second one cannot hide behind the first', () => {
  expect(readStatement('INSERT INTO notes VALUES ($1); UPDATE users SET role = $2').table).toBe('notes+users');
  expect(readStatement('UPDATE users SET a = 1; DELETE FROM notes').table).toBe('notes+users');
  expect(readStatement('WITH x AS (UPDATE users SET a = 1 RETURNING id) INSERT INTO notes SELECT * FROM x')).toEqual({ access: 'write', table: 'notes+users' });
  expect(readStatement('INSERT INTO notes VALUES (1); INSERT INTO notes VALUES (2)').table).toBe('notes');
});

it('names one table for partitions, generated suffixes and scratch tables, and none past 64 characters', () => {
  expect(readStatement('INSERT INTO events_2026_11 VALUES ($1)').table).toBe('events_{n}_{n}');
  expect(readStatement('INSERT INTO events_2026_12 VALUES ($1)').table).toBe('events_{n}_{n}');
  expect(readStatement('INSERT INTO audit_8f3a9c2e1b SELECT 1').table).toBe('audit_{n}');
  // Scratch tables with random names, one per run (review36 M3), and whole names not merged (review36 L2).
  expect(readStatement('INSERT INTO tmp_jy3kmju SELECT 1').table).toBe('tmp*');
  expect(readStatement('DROP TABLE staging_x7qpz').table).toBe('staging*');
  expect(['a1', 'b2', 'cafe2'].map((t) => readStatement(`INSERT INTO ${t} VALUES (1)`).table)).toEqual(['a{n}', 'b{n}', 'cafe{n}']);
  expect(readStatement(`UPDATE ${'t'.repeat(65)} SET a = 1`).table).toBeNull();
});

it('names every table a multi-table UPDATE or DELETE names, and T-SQL brackets and COPY (review36 M1, M2)', () => {
  expect(readStatement("UPDATE notes, users SET users.role = 'admin'").table).toBe('notes+users');
  expect(readStatement('DELETE notes, users FROM notes JOIN users ON notes.uid = users.id').table).toBe('notes+users');
  expect(readStatement("UPDATE notes SET role = 'admin' FROM dbo.users AS notes").table).toBe('notes+users');
  expect(readStatement('DELETE FROM notes USING users WHERE notes.uid = users.id').table).toBe('notes+users');
  expect(readStatement('UPDATE [dbo].[Users] SET a = 1').table).toBe('users');
  // Outside parentheses only: a subquery's tables are read, and a function's FROM names no table.
  expect(readStatement('DELETE FROM sessions WHERE uid IN (SELECT id FROM users)').table).toBe('sessions');
  expect(readStatement('UPDATE t SET x = EXTRACT(EPOCH FROM now()) WHERE id = 1').table).toBe('t');
  expect(readStatement('COPY users (id, role) FROM STDIN')).toEqual({ access: 'write', table: 'users' });
});

it('gives a write whose text names no table, or may name more past what is read, a table of its own (review36 H1, M2)', () => {
  const padded = `INSERT INTO notes VALUES ('${'x'.repeat(5000)}'); UPDATE users SET role = 'admin'`;
  expect(writtenTables(padded, readStatement(padded))).toBe(`notes+${UNREAD_TABLE}`);
  const read = `INSERT INTO notes VALUES ('${'x'.repeat(300)}'); UPDATE users SET role = 'admin'`;
  expect(writtenTables(read, readStatement(read))).toBe('notes+users');
  expect(writtenTables('SET search_path TO public', readStatement('SET search_path TO public'))).toBe(NO_TABLE);
});

describe('a DB span naming no collection carries the tables its write changes (its target stays per database)', () => {
  const classifier = new Classifier(config());
  const db = (attrs: Record<string, unknown>) => classifier.classify(span({ kind: SpanKind.CLIENT, attrs: { 'db.system.name': 'postgresql', 'db.namespace': 'crm', 'server.address': 'crm-db.internal', ...attrs } as SpanInit['attrs'] }));

  it('from the statement text, else from db.query.summary; none for reads or when the collection is named', () => {
    expect(db({ 'db.operation.name': 'UPDATE', 'db.query.text': "UPDATE users SET role = 'admin'" })).toMatchObject({ target: 'postgresql/crm', access: 'write', table: 'users' });
    expect(db({ 'db.operation.name': 'UPDATE', 'db.query.summary': 'UPDATE users' })).toMatchObject({ target: 'postgresql/crm', access: 'write', table: 'users' });
    expect(db({ 'db.operation.name': 'SELECT', 'db.query.text': 'SELECT * FROM users' })).toMatchObject({ access: 'read', table: null });
    expect(db({ 'db.operation.name': 'UPDATE', 'db.collection.name': 'users', 'db.query.text': 'UPDATE users SET a = 1' })).toMatchObject({ target: 'postgresql/crm/users', table: null });
  });

  it('a write whose text is padded past what is read names a table of its own, `(unread)`: padding cannot hide one', () => {
    expect(db({ 'db.operation.name': 'SET', 'db.query.text': 'SET search_path TO public' })).toMatchObject({ access: 'write', table: NO_TABLE });
    const padded = `/* ${'x'.repeat(5000)} */ UPDATE users SET role = 'admin'`;
    expect(db({ 'db.operation.name': 'UPDATE', 'db.query.text': padded })).toMatchObject({ access: 'write', table: UNREAD_TABLE });
    expect(db({ 'db.operation.name': 'SELECT', 'db.query.text': `SELECT ${'a, '.repeat(2000)} b FROM users` })).toMatchObject({ access: 'read', table: null });
  });
});

it('names a stored procedure or prepared statement a write runs, as `name()`; dynamic SQL names none', () => {
  expect(readStatement('CALL grant_admin($1)')).toEqual({ access: 'execute', table: 'grant_admin()' });
  expect(readStatement('EXEC dbo.usp_CloseAccount @id = 7')).toEqual({ access: 'execute', table: 'usp_closeaccount()' });
  expect(readStatement('EXECUTE [dbo].[usp_Refresh]').table).toBe('usp_refresh()');
  expect(readStatement('EXECUTE plan_7 (1, 2)').table).toBe('plan_{n}()');
  expect(readStatement('CALL refresh_stats(); CALL grant_admin(1)').table).toBe('grant_admin()+refresh_stats()');
  expect(readStatement("UPDATE notes SET a = 1; CALL grant_admin(1)").table).toBe('grant_admin()+notes');
  expect(readStatement("EXEC ('UPDATE users SET role = 1')").table).toBeNull();
  expect(readStatement("EXECUTE IMMEDIATE 'DELETE FROM users'").table).toBeNull();
  expect(readStatement('EXEC @rc = dbo.usp_close').table).toBeNull();
  expect(readStatement('{call grant_admin(?)}')).toEqual({ access: 'execute', table: 'grant_admin()' }); // JDBC escape (review39 L1)
});
