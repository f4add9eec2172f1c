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

/** An `nhi.access` value, if it names a class (any case); anything else is ignored, not guessed. */
export function parseAccess(v: unknown): Access | null {
  if (typeof v !== 'string') return null;
  const s = v.toLowerCase();
  return (ACCESS_CLASSES as readonly string[]).includes(s) ? (s as Access) : null;
}

/** HTTP method -> class: GET/HEAD/OPTIONS read, POST/PUT/PATCH write, DELETE delete; others none. */
export function httpMethodAccess(method: string): Access | null {
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
      return 'read';
    case 'POST':
    case 'PUT':
    case 'PATCH':
      return 'write';
    case 'DELETE':
      return 'delete';
    default:
      return null;
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
  'LPUSH', 'RPUSH', 'SADD', 'ZADD', 'EXPIRE', 'RENAME', 'GRANT', 'REVOKE', 'COPY', 'WRITE', 'SAVE', 'INDEX',
  'BULK', 'BULKWRITE', 'PUBLISH', 'XADD', 'LOAD',
]);
/** Stored procedures: what they do is not in the statement, so they run (CONTRACT §3 `execute`). */
const EXECUTE_VERBS = new Set(['CALL', 'EXEC', 'EXECUTE']);
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

/**
 * The leading keyword of a query text, without keeping the text: skips whitespace, `(`, and SQL
 * comments, then returns at most one word (letters only). A CTE (`WITH ...`) gives the strongest
 * data-modifying verb inside it, else null. Only the first 256 characters are ever looked at.
 */
export function statementVerb(text: string): string | null {
  const end = Math.min(text.length, 256);
  let i = 0;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 40 /* ( */) i++;
    else if (c === 45 /* - */ && text.charCodeAt(i + 1) === 45) {
      while (i < end && text.charCodeAt(i) !== 10) i++;
    } else if (c === 47 /* / */ && text.charCodeAt(i + 1) === 42 /* * */) {
      const close = text.indexOf('*/', i + 2);
      if (close < 0 || close >= end) return null;
      i = close + 2;
    } else break;
  }
  let j = i;
  while (j < end) {
    const c = text.charCodeAt(j) | 0x20;
    if (c < 97 || c > 122) break;
    j++;
  }
  if (j === i) return null;
  const verb = text.slice(i, j).toUpperCase();
  return verb === 'WITH' ? cteVerb(text.slice(j, end)) : verb;
}

/**
 * The statement behind a CTE: its strongest data-modifying verb (`WITH gone AS (DELETE ... RETURNING id)
 * SELECT ...` deletes), else null — a CTE that only selects may still end in a write past what is looked at.
 */
function cteVerb(rest: string): string | null {
  const verbs = rest.toUpperCase().match(/\b(DELETE|TRUNCATE|INSERT|UPDATE|MERGE|UPSERT)\b/g);
  if (verbs === null) return null;
  return verbs.find((v) => v === 'DELETE' || v === 'TRUNCATE') ?? verbs[0];
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

/** The config `catalog`: first tool glob that matches gives the class. */
export interface Catalog {
  accessOf(tool: string): Access | null;
}

/** Compiles `config.catalog` once; lookups are memoised per tool name. */
export function compileCatalog(config: Config): Catalog {
  const globs = config.catalog.map((e) => compileGlob(e.tool));
  const classes = config.catalog.map((e) => e.access);
  const memo = new Memo<Access | null>(4096);
  return {
    accessOf(tool: string): Access | null {
      if (globs.length === 0) return null;
      const hit = memo.get(tool);
      if (hit !== undefined) return hit;
      const i = firstMatch(globs, tool);
      const a = i < 0 ? null : classes[i];
      memo.set(tool, a);
      return a;
    },
  };
}
