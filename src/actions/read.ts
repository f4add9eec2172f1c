/**
 * Typed reads of decoded attribute values. Producers disagree on types (status codes as strings in
 * OTLP/JSON from some SDKs, ids as numbers), so every read goes through these few coercions instead
 * of ad-hoc `typeof` checks scattered through the conventions.
 */
import type { Attributes } from '../model.js';
import { GEN_AI_AGENT_ID, GEN_AI_AGENT_NAME } from './attributes.js';

/** The value as a non-empty string, else null (numbers and booleans are not names). */
export function str(attrs: Attributes, key: string): string | null {
  const v = attrs[key];
  return typeof v === 'string' && v !== '' ? v : null;
}

/** The value as a finite number (numeric strings accepted), else null. */
export function num(attrs: Attributes, key: string): number | null {
  const v = attrs[key];
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** The text after `prefix` in `name`, when `name` starts with it and something follows; else null. */
export function after(name: string, prefix: string): string | null {
  return name.length > prefix.length && name.startsWith(prefix) ? name.slice(prefix.length) : null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An agent's name: `gen_ai.agent.id`, else `gen_ai.agent.name` (CONTRACT §3.1), but the name when the id is
 * a UUID: Semantic Kernel gives each agent object a fresh `uuid4` by default, so every run or restart
 * named the same agent anew, each a "New agent" (review38 M4: 42 in 7 hours).
 */
export function agentName(attrs: Attributes): string | null {
  const id = str(attrs, GEN_AI_AGENT_ID);
  const name = str(attrs, GEN_AI_AGENT_NAME);
  return id !== null && (name === null || !UUID.test(id)) ? id : name;
}
