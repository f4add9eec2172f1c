/**
 * `vigil webhook list` and `vigil webhook resume ENDPOINT`, through the running daemon's API (cli-api.ts):
 * what each webhook endpoint is doing, and sending an endpoint's pending deliveries now once its receiver
 * is back (POST /v1/webhooks/{endpoint}/resume), rather than at its next probe.
 */
import { parseArgs } from 'node:util';
import { daemonApi } from './cli-api.js';
import type { Config } from './config/schema.js';
import { UserError } from './errors.js';

export async function webhookCommand(args: string[], load: (path: string | undefined) => Config): Promise<void> {
  const { values, positionals: all } = parseArgs({ args, options: { config: { type: 'string' } }, allowPositionals: true, strict: true });
  const [sub, ...positionals] = all; // options may come before the sub-command too
  if (sub === 'list' && positionals.length === 0) return daemonApi(load(values.config))('GET', '/v1/webhooks');
  if (sub === 'resume' && positionals.length === 1) return daemonApi(load(values.config))('POST', `/v1/webhooks/${encodeURIComponent(positionals[0])}/resume`);
  throw new UserError('usage: vigil webhook list [--config FILE] | vigil webhook resume [--config FILE] ENDPOINT (its index in webhooks: 0 for the first, as vigil webhook list shows)');
}
