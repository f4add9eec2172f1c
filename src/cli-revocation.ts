/**
 * `vigil revocation retry REVOCATION_ID`, through the running daemon's API (cli-api.ts): sends a
 * revocation again once what stopped it is fixed (POST /v1/revocations/{id}/retry).
 */
import { parseArgs } from 'node:util';
import { daemonApi } from './cli-api.js';
import type { Config } from './config/schema.js';
import { UserError } from './errors.js';

export async function revocationCommand(args: string[], load: (path: string | undefined) => Config): Promise<void> {
  const { values, positionals: all } = parseArgs({ args, options: { config: { type: 'string' } }, allowPositionals: true, strict: true });
  const [sub, ...positionals] = all; // options may come before the sub-command too
  if (sub !== 'retry' || positionals.length !== 1) throw new UserError('usage: vigil revocation retry [--config FILE] REVOCATION_ID (the revocationId of an alert\'s response)');
  return daemonApi(load(values.config))('POST', `/v1/revocations/${encodeURIComponent(positionals[0])}/retry`);
}
