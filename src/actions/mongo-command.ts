/** The access of a MongoDB generic `command` span, from the command document's first key only. */
import type { Access } from './types.js';

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
