/**
 * The access class of a DB statement text (`db.query.text`, old `db.statement`), from its
 * statement-leading keywords only; the text is not kept anywhere. An agent that writes its own SQL
 * chooses this text, so a modifying statement must not hide behind a reading one (review31 F8):
 * - every `;`-separated statement counts and the strongest class wins (`SELECT 1; DELETE FROM orders`);
 * - transaction openers are skipped (`BEGIN; DELETE …`, T-SQL `BEGIN TRAN DELETE …`, CQL `BEGIN BATCH …`);
 * - `EXPLAIN` / `DESCRIBE` reads, or takes the class of the statement it explains when stronger;
 * - a CTE (`WITH …`) takes the strongest data-modifying verb inside it.
 * Words in string literals, quoted identifiers and comments do not count, nor do words in a
 * statement's body (`SELECT * FROM deleted_items`, `SELECT 'a; delete me'`).
 *
 * Privilege and schema changes (`CREATE`, `ALTER`, `GRANT`, `REVOKE`, `DENY`) execute: a `GRANT ALL` or
 * `ALTER ROLE … SUPERUSER` must not ride on the row writes an agent already makes (review34 E2). `DROP`
 * and `TRUNCATE` stay deletes (CONTRACT §3).
 *
 * The scan also reads the statement's table, for targets when the span names none (most SQL
 * instrumentations do not): the identifier after the first `FROM`, `INTO`, `UPDATE`, `TABLE` or leading
 * `TRUNCATE` outside parentheses, in a statement led by a SQL verb (so a Redis or memcached command's key
 * is never taken) other than `GRANT`, `REVOKE` and `DENY` (their target is the database). Only an unquoted identifier (lower-cased, as PostgreSQL folds it) or a `"…"` / `` `…` ``
 * quoted one (as written), schema-qualified or not, up to 128 characters: never a `'…'` literal, a number
 * or a parameter, since values may be secrets. A text of several statements takes the table of its
 * strongest one; when statements of that class name different tables (or one names none), no table.
 *
 * Bounded and linear: only the first 256 characters are looked at, each once, by hand (no regular
 * expression to backtrack on a hostile text). Known limits, not guarded against:
 * - a statement past the 256th character is unseen, so padding can push a `DELETE` out of view;
 * - quoting is standard SQL (`'…'` with `''`, `"…"`, `` `…` ``, `--` and `/* *\/` comments): a dialect's
 *   own (MySQL backslash escapes and `#` comments, PostgreSQL dollar quotes and nested comments) can
 *   make the scanner take a later statement for part of a literal;
 * - T-SQL statements not separated by `;` read as one statement, classed by the first.
 */
import { accessRank, stronger, verbAccess } from './access.js';
import type { Access } from './types.js';

/** How much of a statement text is looked at. */
const SCANNED = 256;

/**
 * Words that open a transaction or batch, skipped to reach the statement they hold: `BEGIN`,
 * `START TRANSACTION`, SQLite `BEGIN IMMEDIATE`, T-SQL `BEGIN TRAN`, CQL `BEGIN UNLOGGED BATCH`.
 */
const OPENERS = new Set(['BEGIN', 'START', 'TRANSACTION', 'WORK', 'TRAN', 'DEFERRED', 'IMMEDIATE', 'EXCLUSIVE', 'BATCH', 'UNLOGGED', 'COUNTER']);

/**
 * `EXPLAIN` and its MySQL synonyms. `EXPLAIN ANALYZE DELETE` runs the delete (PostgreSQL, MySQL);
 * plain `EXPLAIN DELETE` only plans it, yet counts as the delete too: telling the two apart means
 * parsing options an agent writes (`(ANALYZE)`, `(ANALYZE on)`, `(FORMAT JSON, ANALYZE 1)`), and for a
 * security monitor a planned delete read as one costs an alert, an executed one read as a read a miss.
 */
const EXPLAINS = new Set(['EXPLAIN', 'DESCRIBE', 'DESC']);

/** The statements `EXPLAIN` takes; its options (`ANALYZE`, `VERBOSE`, `QUERY PLAN`, `FORMAT=JSON`, `(…)`) are skipped. */
const EXPLAINABLE = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'REPLACE', 'WITH', 'VALUES', 'TABLE', 'EXECUTE', 'CREATE', 'DECLARE']);

/** The data-modifying verbs a CTE may hold (`WITH gone AS (DELETE … RETURNING id) SELECT …` deletes). */
const CTE_MODIFYING = new Map<string, Access>([
  ['DELETE', 'delete'], ['TRUNCATE', 'delete'], ['INSERT', 'write'], ['UPDATE', 'write'], ['MERGE', 'write'], ['UPSERT', 'write'],
]);

/**
 * Statement-leading verbs after which the table is read: SQL's, none of them a Redis or memcached command
 * that takes a key. Not `GRANT` / `REVOKE` / `DENY`, whose `FROM` and `TO` name roles: a privilege change
 * is a change to the database.
 */
const SQL_LEADING = new Set([
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'REPLACE', 'UPSERT', 'CREATE', 'ALTER', 'DROP', 'TRUNCATE', 'TABLE', 'LOCK',
]);
/** Leading verbs followed by their table: `UPDATE users`, `TRUNCATE [TABLE] orders`, PostgreSQL `TABLE orders`. */
const TABLE_LEADS = new Set(['UPDATE', 'TRUNCATE', 'TABLE']);
/** Words between a table keyword and the table, lower-cased: `FROM ONLY t`, `CREATE TEMP TABLE IF NOT EXISTS t`, `UPDATE LOW_PRIORITY IGNORE t`. */
const BEFORE_TABLE = new Set(['only', 'temp', 'temporary', 'unlogged', 'if', 'not', 'exists', 'table', 'low_priority', 'ignore']);
/** Longest table name kept (SQL Server's limit; PostgreSQL's is 63, MySQL's 64). */
const MAX_IDENTIFIER = 128;

/** The table of the text last given to `statementAccess` (see `statementTable`). */
let lastTable: string | null = null;

/** The class of a statement text: the strongest of its statements' (null when none has one). */
export function statementAccess(text: string): Access | null {
  const s = new Tokens(text, Math.min(text.length, SCANNED));
  let best: Access | null = null;
  let table: string | null = null;
  while (!s.done) {
    s.table = null;
    const a = statement(s);
    const rank = accessRank(a);
    const bestRank = accessRank(best);
    if (rank > bestRank) {
      best = a;
      table = s.table;
    } else if (rank === bestRank && rank >= 0 && s.table !== table) {
      table = null; // `DELETE FROM notes; DELETE FROM customers`: neither table is the statement's
    }
  }
  lastTable = table;
  return best;
}

/**
 * The table of the statement text last given to `statementAccess` (its strongest statement's), or null.
 * Read right after that call: the scan is done once per span, for both.
 */
export function statementTable(): string | null {
  return lastTable;
}

/**
 * The table of a `db.query.summary` of exactly one operation and one table (`SELECT orders`), or null: a
 * summary of several (`INSERT shipping_details SELECT orders`) or a free-form one (`get user by id`) names
 * no single table.
 */
export function summaryTable(summary: string | null): string | null {
  if (summary === null) return null;
  const space = summary.indexOf(' ');
  if (space <= 0 || summary.indexOf(' ', space + 1) >= 0 || summary.length - space - 1 > MAX_IDENTIFIER) return null;
  if (verbAccess(summary) === null) return null;
  for (let i = space + 1; i < summary.length; i++) {
    const c = summary.charCodeAt(i);
    if (!(isWordChar(c) || c === DOT) || (i === space + 1 && c >= 48 && c <= 57)) return null;
  }
  return space + 1 < summary.length ? summary.slice(space + 1) : null;
}

/** MongoDB commands a generic `command` span may run that only read (lower-cased first key of the command document). */
const MONGO_READ_COMMANDS = new Set([
  'ping', 'hello', 'ismaster', 'buildinfo', 'find', 'aggregate', 'count', 'distinct', 'getmore', 'listcollections',
  'listindexes', 'listdatabases', 'dbstats', 'collstats', 'serverstatus', 'explain', 'connectionstatus', 'hostinfo',
]);

/**
 * MongoDB's generic `command` (`db.command(…)`, `runCommand`): its effect is not in the operation name, so
 * it executes (review34 E4), unless the command document's first key (the command's name, by MongoDB's
 * rules) is a known read. Only that key is read, never a value.
 */
export function mongoCommandAccess(text: string | null): Access {
  if (text === null) return 'execute';
  let i = 0;
  while (i < text.length && text.charCodeAt(i) <= 32) i++;
  if (text.charCodeAt(i) !== 123 /* { */) return 'execute';
  i++;
  while (i < text.length && text.charCodeAt(i) <= 32) i++;
  if (text.charCodeAt(i) !== 34 /* " */) return 'execute';
  const close = text.indexOf('"', i + 1);
  if (close < 0 || close - i > 32) return 'execute';
  return MONGO_READ_COMMANDS.has(text.slice(i + 1, close).toLowerCase()) ? 'read' : 'execute';
}

/** One statement's class from its leading keywords; leaves `s` past the statement's `;`, its table in `s.table`. */
function statement(s: Tokens): Access | null {
  let tok = s.next();
  while (tok === 'open') tok = s.next(); // `(SELECT …) UNION (SELECT …)`
  let opened = false;
  while (tok === 'word' && OPENERS.has(s.word())) {
    opened = true;
    tok = s.next();
  }
  if (tok !== 'word') return rest(s, tok, null);
  const w = s.word();
  // Transaction modes, not statements: `START TRANSACTION READ ONLY`, MySQL `… WITH CONSISTENT SNAPSHOT`.
  if (opened && (w === 'READ' || w === 'WITH')) return rest(s, tok, null);
  if (EXPLAINS.has(w)) return explained(s);
  return leading(s, w);
}

/**
 * A statement led by `word`: the word's class (`CREATE` executes, as `verbAccess` has the other privilege
 * and schema verbs), or for a CTE the strongest modifying verb in it (and no table: a CTE's name is the
 * agent's to choose).
 */
function leading(s: Tokens, word: string): Access | null {
  if (word !== 'WITH') {
    const a = word === 'CREATE' ? 'execute' : verbAccess(word);
    return SQL_LEADING.has(word) ? withTable(s, word, a) : rest(s, 'word', a);
  }
  let best: Access | null = null;
  for (let tok = s.next(); tok !== 'semi' && tok !== 'end'; tok = s.next()) {
    if (tok === 'word') best = stronger(best, CTE_MODIFYING.get(s.word()) ?? null);
  }
  return best;
}

/** After `EXPLAIN`: a read, or the explained statement's class when stronger. */
function explained(s: Tokens): Access | null {
  for (let tok = s.next(); tok !== 'semi' && tok !== 'end'; tok = s.next()) {
    if (tok !== 'word') continue;
    const w = s.word();
    if (EXPLAINABLE.has(w)) return stronger('read', leading(s, w));
  }
  return 'read'; // `EXPLAIN orders` (MySQL: the table's columns)
}

/** Skips to the end of the statement (its `;`, or the end of what is looked at) and returns `a`. */
function rest(s: Tokens, tok: Token, a: Access | null): Access | null {
  while (tok !== 'semi' && tok !== 'end') tok = s.next();
  return a;
}

/**
 * `rest` for a statement led by SQL verb `word`: on the way to its end, reads the table after the leading
 * verb (`UPDATE users`) or after the first `FROM` / `INTO` / `UPDATE` / `TABLE` outside parentheses.
 */
function withTable(s: Tokens, word: string, a: Access | null): Access | null {
  let want = true;
  let depth = 0;
  let tok: Token;
  if (TABLE_LEADS.has(word)) {
    want = false;
    tok = tableAfter(s);
  } else tok = s.next();
  while (tok !== 'semi' && tok !== 'end') {
    if (tok === 'open') depth++;
    else if (tok === 'close') depth = depth > 0 ? depth - 1 : 0;
    else if (want && depth === 0 && tok === 'word' && s.isTableKeyword()) {
      want = false;
      tok = tableAfter(s);
      continue;
    }
    tok = s.next();
  }
  return a;
}

/**
 * Reads the table name after a table keyword into `s.table` (null when what follows is no identifier:
 * a subquery, a literal, a parameter); returns the token after it.
 */
function tableAfter(s: Tokens): Token {
  let tok = s.next();
  let part = s.identifier(tok);
  while (tok === 'word' && part !== null && BEFORE_TABLE.has(part)) part = s.identifier((tok = s.next()));
  let name: string | null = null;
  // Up to three parts (`db.schema.table`); `t.*` or `schema.(` ends the name at what was read.
  for (let parts = 0; parts < 3; parts++) {
    if (parts > 0) part = s.identifier(tok);
    if (part === null) break;
    name = name === null ? part : `${name}.${part}`;
    const dot = s.dotFollows();
    tok = s.next();
    if (!dot || parts === 2) {
      if (dot) name = null; // a fourth part: not a table name this scan knows
      break;
    }
    tok = s.next(); // past the `.`
  }
  s.table = name !== null && name.length <= MAX_IDENTIFIER ? name : null;
  return tok;
}

/** `word` an identifier or keyword, `semi` a `;`, `open` a `(`, `close` a `)`, `other` any other token (literals included). */
type Token = 'word' | 'semi' | 'open' | 'close' | 'other' | 'end';

const SEMI = 59, OPEN = 40, CLOSE = 41, DASH = 45, SLASH = 47, STAR = 42, NEWLINE = 10, DOT = 46, DQUOTE = 34, BACKTICK = 96;
const QUOTES = new Set([39 /* ' */, DQUOTE, BACKTICK]);

/** A forward-only tokenizer over `text[0, end)`; comments and whitespace are skipped, literals are one token. */
class Tokens {
  private pos = 0;
  private start = 0;
  /** The current statement's table (see `withTable`). */
  table: string | null = null;

  constructor(private readonly text: string, private readonly end: number) {}

  /** True when the last `word` token is `FROM`, `INTO`, `UPDATE` or `TABLE`, in any case (no allocation). */
  isTableKeyword(): boolean {
    const n = this.pos - this.start;
    const c = this.text.charCodeAt(this.start) | 0x20;
    if (n === 4) return (c === 102 && this.is('from')) || (c === 105 && this.is('into'));
    if (n === 5) return c === 116 && this.is('table');
    return n === 6 && c === 117 && this.is('update');
  }

  /** True when the last token is `kw` (lower-case, same length), in any case. */
  private is(kw: string): boolean {
    for (let i = 1; i < kw.length; i++) if ((this.text.charCodeAt(this.start + i) | 0x20) !== kw.charCodeAt(i)) return false;
    return true;
  }

  /**
   * The last token as an identifier: an unquoted word not starting with a digit (lower-cased), or a closed
   * `"…"` / `` `…` `` quoted name (as written); null for anything else (`'…'` literals above all).
   */
  identifier(tok: Token): string | null {
    const t = this.text;
    if (tok === 'word') {
      const c = t.charCodeAt(this.start);
      return (c >= 48 && c <= 57) || c === 36 ? null : t.slice(this.start, this.pos).toLowerCase();
    }
    if (tok !== 'other' || this.pos - this.start < 3) return null;
    const q = t.charCodeAt(this.start);
    if ((q !== DQUOTE && q !== BACKTICK) || t.charCodeAt(this.pos - 1) !== q) return null;
    return t.slice(this.start + 1, this.pos - 1);
  }

  /** True when the last token is directly followed by a `.` (`public.users`, `"public"."Users"`). */
  dotFollows(): boolean {
    return this.pos < this.end && this.text.charCodeAt(this.pos) === DOT;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** The last `word` token, upper-cased. */
  word(): string {
    return this.text.slice(this.start, this.pos).toUpperCase();
  }

  next(): Token {
    const t = this.text;
    const end = this.end;
    let i = this.skipSpace(this.pos);
    this.start = i;
    if (i >= end) {
      this.pos = end;
      return 'end';
    }
    const c = t.charCodeAt(i);
    let tok: Token = 'other';
    if (isWordChar(c)) {
      while (i < end && isWordChar(t.charCodeAt(i))) i++;
      tok = 'word';
    } else if (QUOTES.has(c)) {
      // `''` inside a literal closes it and opens the next: the same skip, two tokens.
      i++;
      while (i < end && t.charCodeAt(i) !== c) i++;
      i++;
    } else {
      i++;
      if (c === SEMI) tok = 'semi';
      else if (c === OPEN) tok = 'open';
      else if (c === CLOSE) tok = 'close';
    }
    this.pos = Math.min(i, end);
    return tok;
  }

  /** Past whitespace and comments; an unclosed comment runs to the end. */
  private skipSpace(from: number): number {
    const t = this.text;
    const end = this.end;
    let i = from;
    while (i < end) {
      const c = t.charCodeAt(i);
      if (c <= 32) i++;
      else if (c === DASH && t.charCodeAt(i + 1) === DASH) {
        while (i < end && t.charCodeAt(i) !== NEWLINE) i++;
      } else if (c === SLASH && t.charCodeAt(i + 1) === STAR) {
        i += 2;
        while (i < end && !(t.charCodeAt(i) === STAR && t.charCodeAt(i + 1) === SLASH)) i++;
        i += 2;
      } else break;
    }
    return Math.min(i, end);
  }
}

/** Letters, digits, `_` and `$`: the characters of an unquoted identifier or keyword. */
function isWordChar(c: number): boolean {
  const l = c | 0x20;
  return (l >= 97 && l <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 36;
}
