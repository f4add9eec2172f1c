/**
 * Names of what a baseline counts. Every learned fact is a decayed counter under `dimension + SEP + item`
 * in one map, so persistence, decay and the "is this known?" question are written once.
 */
export const DIMENSIONS = ['tool', 'target', 'host', 'zone', 'scope', 'agent', 'access', 'transition', 'from', 'flow'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** Separator that cannot occur in tool names, targets or hosts as Vigil derives them. */
export const SEP = '\u0000';

export function key(dimension: Dimension, item: string): string {
  return dimension + SEP + item;
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
