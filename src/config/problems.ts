/**
 * Turning validation issues into the lines an operator reads: one per problem, each starting with the key
 * path in the form the contract fixes (`webhooks[0].secret: must start with whsec_`), never zod's
 * developer wording ("expected string, received number") and never the offending value, which may be a
 * secret.
 */
import type { z } from 'zod';
import { allowedKeys, type SchemaNode } from './walk.js';

/** What a wrong-typed value should have been, in words an operator uses for YAML. */
const TYPE_WORDS: Record<string, string> = {
  number: 'must be a number',
  int: 'must be a whole number',
  string: 'must be a string',
  boolean: 'must be true or false',
  array: 'must be a list',
  object: 'must be a mapping',
  record: 'must be a mapping',
};

/**
 * The per-parse error map. Zod consults it only where the schema set no message of its own, so the
 * schema's specific wording (durations, endpoints, URLs) wins and this supplies the generic cases.
 */
export const plainWords: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type') {
    return issue.input === undefined ? 'is required' : TYPE_WORDS[issue.expected];
  }
  return undefined;
};

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['webhooks', 0, 'secret']` -> `webhooks[0].secret`; keys that are not plain names (zone names may hold dots) are quoted. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (IDENTIFIER.test(String(key))) out += out === '' ? String(key) : `.${String(key)}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions, so `grcp` is 1 from `grpc`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The allowed key closest to `key`, when it is close enough to be a typo: case-insensitive, within a
 * third of the key's length (at least 1, at most 3) so short keys do not "suggest" unrelated ones.
 */
function closestKey(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    const limit = Math.min(3, Math.max(1, Math.floor(candidate.length / 3)));
    if (distance <= limit && distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/**
 * One line per problem for a failed parse of `input` against `schema`. `file` (the config file's name)
 * prefixes a problem that belongs to no key. An object with several unknown keys yields one line each.
 */
export function issueLines(issues: readonly z.core.$ZodIssue[], schema: SchemaNode, input: unknown, file: string): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const path = issue.path;
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(schema, input, path);
      for (const key of issue.keys) {
        const hint = closestKey(key, allowed);
        lines.push(`${formatPath([...path, key])}: unknown key${hint ? ` (did you mean ${hint}?)` : ''}`);
      }
    } else {
      lines.push(`${path.length ? formatPath(path) : file}: ${issue.message}`);
    }
  }
  return [...new Set(lines)];
}
