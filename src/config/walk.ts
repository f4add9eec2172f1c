/**
 * Reading the config schema as data: which keys an object allows, which node sits at a key path. The
 * loader uses it to suggest the key a typo meant, and `check-config` to find duration keys, so neither
 * keeps its own copy of the key list that could drift from `schema.ts`.
 */
import type { z } from 'zod';

/** Any zod 4 schema node. */
export type SchemaNode = z.core.$ZodType;

/** The parts of zod 4's public `_zod.def` this module reads; every def has `type`, the rest vary by it. */
interface Def {
  type: string;
  shape?: Record<string, SchemaNode>;
  innerType?: SchemaNode;
  in?: SchemaNode;
  element?: SchemaNode;
  valueType?: SchemaNode;
  options?: readonly SchemaNode[];
  discriminator?: string;
  values?: readonly unknown[];
}

const defOf = (node: SchemaNode): Def => node._zod.def as unknown as Def;

/** Wrappers that change whether a value may be absent, never its shape. */
const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional']);

/**
 * Strips default/optional-style wrappers. A pipe (a transform, such as `duration`) is kept, so callers
 * can recognise it by identity.
 */
export function unwrap(node: SchemaNode): SchemaNode {
  let current = node;
  for (let def = defOf(current); WRAPPERS.has(def.type) && def.innerType; def = defOf(current)) {
    current = def.innerType;
  }
  return current;
}

/** Unwraps wrappers and pipes down to the node that decides the input's shape. */
function shapeOf(node: SchemaNode): SchemaNode {
  let current = unwrap(node);
  while (defOf(current).type === 'pipe' && defOf(current).in) current = unwrap(defOf(current).in!);
  return current;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * For a discriminated union, the option whose discriminator literal matches `value`; undefined when the
 * value names none (then callers fall back to all options).
 */
function pickOption(def: Def, value: unknown): SchemaNode | undefined {
  if (!def.discriminator || !isRecord(value)) return undefined;
  const wanted = value[def.discriminator];
  return def.options?.find((option) => {
    const tag = defOf(shapeOf(option)).shape?.[def.discriminator!];
    return tag !== undefined && (defOf(unwrap(tag)).values ?? []).includes(wanted);
  });
}

/** The options of `node` that may describe `value`: one for a plain schema, the matching one(s) of a union. */
function candidates(node: SchemaNode, value: unknown): SchemaNode[] {
  const shaped = shapeOf(node);
  const def = defOf(shaped);
  if (def.type !== 'union') return [shaped];
  const picked = pickOption(def, value);
  return picked ? [shapeOf(picked)] : (def.options ?? []).map(shapeOf);
}

/**
 * The schema node one step below `node` (whose input is `value`) at `key`: an object's property, an
 * array's element, a record's value; undefined when the schema has nothing there.
 */
export function child(node: SchemaNode, value: unknown, key: PropertyKey): SchemaNode | undefined {
  for (const option of candidates(node, value)) {
    const def = defOf(option);
    if (def.type === 'object' && typeof key === 'string' && def.shape && Object.hasOwn(def.shape, key)) return def.shape[key];
    if (def.type === 'array' && typeof key === 'number') return def.element;
    if (def.type === 'record' && typeof key === 'string') return def.valueType;
  }
  return undefined;
}

/**
 * The keys the object at `path` allows, read from the schema, with `root` the raw input (used to pick the
 * right option of a union, e.g. a broker by its `type`). Empty when the path leads to no object.
 */
export function allowedKeys(schema: SchemaNode, root: unknown, path: readonly PropertyKey[]): string[] {
  let node: SchemaNode | undefined = schema;
  let value = root;
  for (const key of path) {
    node = child(node, value, key);
    if (!node) return [];
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[String(key)] : undefined;
  }
  const keys = new Set<string>();
  for (const option of candidates(node, value)) {
    for (const key of Object.keys(defOf(option).shape ?? {})) keys.add(key);
  }
  return [...keys];
}
