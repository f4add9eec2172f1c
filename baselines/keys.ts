/**
 * Names of what a baseline counts. Every learned fact is a decayed counter under `dimension + SEP + item`
 * in one map, so persistence, decay and the "is this known?" question are written once.
 */
export const DIMENSIONS = ['tool', 'target', 'host', 'zone', 'scope', 'agent', 'access', 'transition', 'from', 'flow', 'xflow', 'failures', 'peak', 'bulk'] as const;
/**
 * Dimensions that count facts about items rather than items an operator could allow (`xflow`: allowing
 * the `flow` covers both; `peak`: a sensitive source's busiest hour of reads, a maximum, not a count).
 * `bulk` is a maximum too, the largest hour of a source's reads that raised a bulk read; an operator
 * allows it to make that hour the source's usual peak (operator.ts).
 */
export const COUNT_ONLY: ReadonlySet<Dimension> = new Set<Dimension>(['from', 'xflow', 'failures', 'peak']);
export type Dimension = (typeof DIMENSIONS)[number];

/** Separator that cannot occur in tool names, targets or hosts as Vigil derives them. */
export const SEP = '\u0000';

/** An item of a dimension and its key. Shared (one per dimension and item): never changed. */
export interface KeyedItem {
  readonly dim: Dimension;
  readonly item: string;
  readonly key: string;
}

/**
 * Keys handed out, per dimension and item. Every action asks for the same few keys several times (judged
 * by each detector, then learned), and a freshly concatenated key must be flattened and hashed again at
 * every Map lookup; an interned key is built once and keeps its hash. The cache holds the item with its
 * key, so an action's list of items (scopeItems) is made of shared objects too. Bounded: a dimension's
 * cache is emptied when it grows past KEY_CACHE_MAX items (only a cost, never a different key).
 */
const KEY_CACHE_MAX = 20_000;
const keyCache = new Map<Dimension, Map<string, KeyedItem>>(DIMENSIONS.map((d) => [d, new Map()]));

export function keyedItem(dimension: Dimension, item: string): KeyedItem {
  const cache = keyCache.get(dimension);
  if (cache === undefined) return { dim: dimension, item, key: dimension + SEP + item }; // not a Dimension (unchecked input): just build it
  let it = cache.get(item);
  if (it === undefined) {
    if (cache.size >= KEY_CACHE_MAX) cache.clear();
    it = { dim: dimension, item, key: dimension + SEP + item };
    cache.set(item, it);
  }
  return it;
}

/** Failures + retries learned on a subject (retry_storm judges a subject against its own usual share), by the subject's own key. */
export function failuresKey(subjectKey: string): string {
  return keyedItem('failures', subjectKey).key;
}

/** The busiest hour of sensitive reads of a source (the tool, or the target read outside a tool), decayed. */
export function peakKey(source: string): string {
  return keyedItem('peak', source).key;
}

/** The largest hour of reads of a source that raised a bulk read (never learned as its peak), decayed. */
export function raisedBulkKey(source: string): string {
  return keyedItem('bulk', source).key;
}

/** An item of a dimension, as alerts name them (`evidence.allow`, `newItems`) and operators allow them. */
export interface DimensionItem {
  dimension: Dimension;
  item: string;
}

export function key(dimension: Dimension, item: string): string {
  return keyedItem(dimension, item).key;
}

/**
 * Strings made of two parts, cached by part: a hit is two lookups of strings the action already holds
 * (hashed once), where building the string first would concatenate, flatten and hash a new one each
 * time. Bounded like the key cache: emptied past KEY_CACHE_MAX strings (only a cost, never a different
 * string).
 */
class PairCache {
  private readonly byFirst = new Map<string, Map<string, string>>();
  private size = 0;

  constructor(private readonly build: (a: string, b: string) => string) {}

  get(a: string, b: string): string {
    let bySecond = this.byFirst.get(a);
    let s = bySecond?.get(b);
    if (s === undefined) {
      if (this.size >= KEY_CACHE_MAX) {
        this.byFirst.clear();
        this.size = 0;
        bySecond = undefined;
      }
      if (bySecond === undefined) this.byFirst.set(a, (bySecond = new Map()));
      s = this.build(a, b);
      bySecond.set(b, s);
      this.size++;
    }
    return s;
  }
}

/** `subject|class`: how often an identity accessed a subject (tool or target) with an access class. */
export function accessItem(subject: string, access: string): string {
  return `${subject}|${access}`;
}

const accessKeys = new PairCache((access, subject) => 'access' + SEP + accessItem(subject, access));

/** `key('access', accessItem(subject, access))`, without building it each time. */
export function accessKey(subject: string, access: string): string {
  return accessKeys.get(access, subject);
}

const stepNames = new PairCache((kind, target) => `${kind}:${target}`);

/**
 * A step's name in transitions: `tool:crm.search`, `delegation:billing`, `http:host/path`. Cached: a
 * step's name is looked up in several keys (transition, from) while it is the latest step of a trace.
 */
export function stepName(kind: string, target: string): string {
  return stepNames.get(kind, target);
}

export function transitionItem(from: string, to: string): string {
  return `${from} -> ${to}`;
}

const transitionKeys = new PairCache((from, to) => 'transition' + SEP + transitionItem(from, to));

/** `key('transition', transitionItem(from, to))`, without building it each time. */
export function transitionKey(from: string, to: string): string {
  return transitionKeys.get(from, to);
}

/** A sensitive read's target flowing to a destination host. */
export function flowItem(source: string, destinationHost: string): string {
  return `${source} => ${destinationHost}`;
}

const flowKeys = new PairCache((source, host) => 'flow' + SEP + flowItem(source, host));

/** `key('flow', flowItem(source, destinationHost))`, without building it each time. */
export function flowKey(source: string, destinationHost: string): string {
  return flowKeys.get(source, destinationHost);
}

const crossFlowKeys = new PairCache((source, host) => 'xflow' + SEP + flowItem(source, host));

/**
 * `key('xflow', …)`: a sensitive read in one of the identity's traces and an egress in another within
 * the window. Learned apart from `flow` (same trace): an agent busy enough that unrelated tasks fall
 * within the window learns every such pair, which must not excuse the pair inside one task (review31 F1).
 */
export function crossFlowKey(source: string, destinationHost: string): string {
  return crossFlowKeys.get(source, destinationHost);
}
