/**
 * Typed reads of decoded attribute values. Producers disagree on types (status codes as strings in
 * OTLP/JSON from some SDKs, ids as numbers), so every read goes through these few coercions instead
 * of ad-hoc `typeof` checks scattered through the conventions.
 */
import type { Attributes } from '../model.js';

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
