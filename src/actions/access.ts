/**
 * Access classes (CONTRACT §3): from the `nhi.access` attribute, the config `catalog`, the HTTP method,
 * the DB verb or the messaging operation, in that order of precedence. Ranks order the classes so a
 * tool can take the strongest of its own and its descendants'.
 */
import type { Config } from '../config/schema.js';
import { ACCESS_CLASSES, type Access } from './types.js';
import { compileGlob, firstMatch } from './glob.js';
import { Memo } from '../collections/memo.js';

/** read < write < delete < execute; -1 is "no class". */
export function accessRank(a: Access | null): number {
  return a === null ? -1 : ACCESS_CLASSES.indexOf(a);
}

/** The class of a rank from `accessRank` (null for -1). */
export function accessOfRank(rank: number): Access | null {
  return rank < 0 ? null : ACCESS_CLASSES[rank];
}

/** The stronger of two classes (null only when both are). */
export function stronger(a: Access | null, b: Access | null): Access | null {
  return accessRank(a) >= accessRank(b) ? a : b;
}

/** An `nhi.access` value, if it names a class (any case); anything else is ignored, not guessed. */
export function parseAccess(v: unknown): Access | null {
  if (typeof v !== 'string') return null;
  const s = v.toLowerCase();
  return (ACCESS_CLASSES as readonly string[]).includes(s) ? (s as Access) : null;
}

/**
 * HTTP method -> class: GET/HEAD/OPTIONS/TRACE/QUERY read (the safe methods), POST/PUT/PATCH write,
 * DELETE delete, CONNECT none (a tunnel: the requests sent through it are spans of their own).
 * Any other method is a write: it may change state (WebDAV MOVE, COPY, PROPPATCH, MKCOL, custom verbs),
 * and a write nobody classed goes unseen (review31 F8). The OpenTelemetry HTTP instrumentations record
 * every method outside their known list as `_OTHER`; `http.request.method_original` is not read, since
 * all it could name falls under this rule anyway, and a method recorded as sent (old `http.method`, or
 * a configured known-methods list) gets the same class as its `_OTHER`.
 */
export function httpMethodAccess(method: string): Access | null {
  switch (method.toUpperCase()) {
    case '':
    case 'CONNECT':
      return null;
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'TRACE':
    case 'QUERY':
      return 'read';
    case 'DELETE':
      return 'delete';
    case 'POST':
    case 'PUT':
    case 'PATCH':
    case '_OTHER':
    default:
      return 'write';
  }
}

// Verbs across SQL, Redis, MongoDB, Elasticsearch, DynamoDB and Cassandra, upper-cased. Exact words
// first; `verbAccess` then falls back to substrings for compound driver names (`findOneAndDelete`).
const READ_VERBS = new Set([
  'SELECT', 'FIND', 'FINDONE', 'GET', 'MGET', 'HGET', 'HGETALL', 'HMGET', 'SCAN', 'QUERY', 'COUNT', 'AGGREGATE',
  'DISTINCT', 'DESCRIBE', 'SHOW', 'EXPLAIN', 'EXISTS', 'KEYS', 'LRANGE', 'SMEMBERS', 'ZRANGE', 'SEARCH', 'READ',
  'FETCH', 'LIST', 'GETITEM', 'BATCHGETITEM', 'MSEARCH', 'WATCH', 'TTL', 'TYPE', 'STRLEN', 'LLEN', 'SCARD',
]);
const WRITE_VERBS = new Set([
  'INSERT', 'UPDATE', 'UPSERT', 'MERGE', 'REPLACE', 'SET', 'MSET', 'HSET', 'HMSET', 'SETEX', 'SETNX', 'CREATE',
  'ALTER', 'PUT', 'PUTITEM', 'UPDATEITEM', 'BATCHWRITEITEM', 'INCR', 'INCRBY', 'DECR', 'DECRBY', 'APPEND',
  'LPUSH', 'RPUSH', 'SADD', 'ZADD', 'EXPIRE', 'RENAME', 'COPY', 'WRITE', 'SAVE', 'INDEX',
  'BULK', 'BULKWRITE', 'PUBLISH', 'XADD', 'LOAD',
]);
/**
 * CONTRACT §3 `execute`: what these do is not in the operation name, or is not a row write.
 * - Stored procedures and PostgreSQL's anonymous blocks (`DO $$ … $$`) run code the statement does not show.
 * - Redis scripts and functions (`EVAL`, `EVALSHA`, `EVAL_RO`, `EVALSHA_RO`, `FCALL`, `FCALL_RO`, and
 *   `SCRIPT` / `FUNCTION`, which load and flush them): `EVAL "return redis.call('FLUSHALL')" 0` is a
 *   flush that names none (review34 E4). `_` is dropped before the lookup, so `EVAL_RO` is `EVALRO`.
 * - Privilege and schema changes (`GRANT`, `REVOKE`, T-SQL `DENY`, `ALTER`): a grant of privileges or a
 *   new superuser must not pass as the row writes an agent already makes (review34 E2). SQL `CREATE` is
 *   classed in statement.ts, from the text: the operation name `create` is also a document write
 *   (Elasticsearch) or a collection (MongoDB).
 */
const EXECUTE_VERBS = new Set([
  'CALL', 'EXEC', 'EXECUTE', 'DO',
  'EVAL', 'EVALSHA', 'EVALRO', 'EVALSHARO', 'FCALL', 'FCALLRO', 'SCRIPT', 'FUNCTION',
  'GRANT', 'REVOKE', 'DENY', 'ALTER',
]);
const DELETE_VERBS = new Set([
  'DELETE', 'DROP', 'TRUNCATE', 'DEL', 'UNLINK', 'REMOVE', 'HDEL', 'SREM', 'ZREM', 'LREM', 'FLUSHDB', 'FLUSHALL',
  'DELETEITEM', 'PURGE',
]);

const verbMemo = new Memo<Access | null>(1024);

/**
 * A DB verb -> class. Accepts the operation name (`SELECT`, `findOne`, `BATCH INSERT`) or a query
 * summary (`SELECT users`): the last word of a `BATCH` prefix, else the first word, decides.
 */
export function verbAccess(operation: string): Access | null {
  const memo = verbMemo.get(operation);
  if (memo !== undefined) return memo;
  let word = operation.trim().toUpperCase();
  if (word.startsWith('BATCH ')) word = word.slice(6).trimStart();
  const space = word.search(/\s/);
  if (space > 0) word = word.slice(0, space);
  word = word.replace(/[_-]/g, '');
  let a: Access | null = null;
  if (DELETE_VERBS.has(word)) a = 'delete';
  else if (EXECUTE_VERBS.has(word)) a = 'execute';
  else if (WRITE_VERBS.has(word)) a = 'write';
  else if (READ_VERBS.has(word)) a = 'read';
  // Compound driver operations, strongest effect first: findOneAndDelete deletes, findOneAndUpdate writes.
  else if (/DELETE|REMOVE|DROP|TRUNCATE/.test(word)) a = 'delete';
  else if (/INSERT|UPDATE|UPSERT|REPLACE|MODIFY|WRITE|CREATE/.test(word)) a = 'write';
  else if (/^(SELECT|FIND|GET|READ|SCAN|QUERY|COUNT|LIST|SEARCH)/.test(word)) a = 'read';
  verbMemo.set(operation, a);
  return a;
}

/** Messaging operation -> class: send/create/publish write, receive/process (and settle, an ack) read. */
export function messagingAccess(operation: string): Access | null {
  switch (operation.toLowerCase()) {
    case 'send':
    case 'create':
    case 'publish':
      return 'write';
    case 'receive':
    case 'process':
    case 'deliver':
    case 'settle':
      return 'read';
    default:
      return null;
  }
}

/** The config `catalog`: the first tool glob (or target glob) that matches gives the class. */
export interface Catalog {
  accessOf(tool: string): Access | null;
  /** A call's class by its target (`host/template`, `system/namespace/collection`, …). */
  targetAccessOf(target: string): Access | null;
}

/** Compiles `config.catalog` once; lookups are memoised per name. */
export function compileCatalog(config: Config): Catalog {
  const byTool = config.catalog.flatMap((e) => (e.tool === undefined ? [] : [e]));
  const byTarget = config.catalog.flatMap((e) => (e.target === undefined ? [] : [e]));
  return { accessOf: lookup(byTool.map((e) => e.tool!), byTool), targetAccessOf: lookup(byTarget.map((e) => e.target!), byTarget) };
}

/** The class of the first entry whose glob matches a name, memoised (names repeat span after span). */
function lookup(patterns: string[], entries: ReadonlyArray<{ access: Access }>): (name: string) => Access | null {
  const globs = patterns.map((p) => compileGlob(p));
  const memo = new Memo<Access | null>(4096);
  return (name) => {
    if (globs.length === 0) return null;
    const hit = memo.get(name);
    if (hit !== undefined) return hit;
    const i = firstMatch(globs, name);
    const a = i < 0 ? null : entries[i].access;
    memo.set(name, a);
    return a;
  };
}
