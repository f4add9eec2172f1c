/**
 * The effective configuration as `vigil check-config` prints it: YAML with every key in force, defaults
 * included, durations written back the way config.yaml writes them (`5m`, not 300000) so the output
 * reads like the file and can be loaded again, and every secret replaced by `<redacted>` (webhook and
 * broker URLs cut to their origin) so the output can be pasted into a ticket.
 */
import { stringify } from 'yaml';
import { REDACTED, SECRET_KEYS } from '../redaction.js';
import { printableUrl } from '../sinks/redact-url.js';
import { duration, formatDuration } from './fields.js';
import { type Config, configSchema } from './schema.js';
import { child, type SchemaNode, unwrap } from './walk.js';

/**
 * Keys holding a webhook's or broker's URL: printed as their origin only, as in logs (redact-url.ts),
 * since user-info, path or query may carry a credential (`?apikey=`, Slack-style paths).
 */
const URL_KEYS = new Set(['url', 'address']);

const HEADER = [
  '# Effective configuration: every key with the value in force, defaults included.',
  '# Durations are in config.yaml form (250ms, 5s, 5m, 12h, 7d); relative paths are resolved;',
  `# secrets are shown as "${REDACTED}".`,
].join('\n');

/** Rebuilds `value` (validated output of `node`) as plain data in config.yaml form. */
function render(node: SchemaNode | undefined, value: unknown): unknown {
  if (node && unwrap(node) === duration && typeof value === 'number') return formatDuration(value);
  if (Array.isArray(value)) return value.map((item, i) => render(node && child(node, value, i), item));
  if (typeof value === 'object' && value !== null) {
    // A union's output is still tagged (a broker's `type`), so child() finds the same option as at load.
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      if (typeof item === 'string' && SECRET_KEYS.has(key)) out[key] = REDACTED;
      else if (typeof item === 'string' && URL_KEYS.has(key)) out[key] = printableUrl(item);
      else out[key] = render(node && child(node, value, key), item);
    }
    return out;
  }
  return value;
}

/**
 * The effective configuration as YAML for `vigil check-config`, with a short header saying how to read
 * it. Durations print as `5m`-style strings, secrets as `<redacted>`, URLs as their origin; any output
 * without secrets (and whose URLs are bare origins) loads back to an equal configuration.
 */
export function formatEffectiveConfig(config: Readonly<Config>): string {
  return `${HEADER}\n${stringify(render(configSchema, config), { lineWidth: 0 })}`;
}
