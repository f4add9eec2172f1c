/**
 * Names of what a baseline counts. Every learned fact is a decayed counter under `dimension + SEP + item`
 * in one map, so persistence, decay and the "is this known?" question are written once.
 */
export const DIMENSIONS = ['tool', 'target', 'host', 'zone', 'scope', 'agent', 'access', 'transition', 'from', 'flow'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** Separator that cannot occur in tool names, targets or hosts as Vigil derives them. */
export const SEP = '\u0000';

/**
 * Keys handed out, per dimension and item. Every action asks for the same few keys several times (judged
 * by each detector, then learned), and a freshly concatenated key must be flattened and hashed again at
 * every Map lookup; an interned key is built once and keeps its hash. Bounded: a dimension's cache is
 * emptied when it grows past KEY_CACHE_MAX items (only a cost, never a different key).
 */
const KEY_CACHE_MAX = 20_000;
const keyCache = new Map<Dimension, Map<string, string>>(DIMENSIONS.map((d) => [d, new Map()]));

export function key(dimension: Dimension, item: string): string {
  const cache = keyCache.get(dimension);
  if (cache === undefined) return dimension + SEP + item; // not a Dimension (unchecked input): just build it
  let k = cache.get(item);
  if (k === undefined) {
    if (cache.size >= KEY_CACHE_MAX) cache.clear();
    k = dimension + SEP + item;
    cache.set(item, k);
  }
  return k;
}

/** `subject|class`: how often an identity accessed a subject (tool or target) with an access class. */
export function accessItem(subject: string, access: string): string {
  return `${subject}|${access}`;
}

/** A step's name in transitions: `tool:crm.search`, `delegation:billing`, `http:host/path`. */
export function stepName(kind: string, target: string): string {
  return `${kind}:${target}`;
}

export function transitionItem(from: string, to: string): string {
  return `${from} -> ${to}`;
}

/** A sensitive read's target flowing to a destination host. */
export function flowItem(source: string, destinationHost: string): string {
  return `${source} => ${destinationHost}`;
}
