/**
 * `vigil baseline show IDENTITY`, `vigil baseline allow IDENTITY DIMENSION ITEM` (or `--peer-group GROUP
 * DIMENSION ITEM`: every current member), `vigil baseline disallow …` (the same forms: undoes an allow),
 * `vigil baseline allows [IDENTITY | --peer-group GROUP]` (the allows and disallows made) and
 * `vigil baseline reset IDENTITY`, through the running daemon's API (cli-api.ts): the daemon holds
 * baselines in memory, and would overwrite at its next checkpoint what was written behind its back.
 */
import { parseArgs } from 'node:util';
import { daemonApi } from './cli-api.js';
import type { Config } from './config/schema.js';
import { UserError } from './errors.js';

export async function baselineCommand(args: string[], load: (path: string | undefined) => Config): Promise<void> {
  // Options anywhere, before the sub-command too (`vigil baseline --config FILE allow …`).
  const { values, positionals: all } = parseArgs({ args, options: { config: { type: 'string' }, 'peer-group': { type: 'string' } }, allowPositionals: true, strict: true });
  const [sub, ...positionals] = all;
  const call = daemonApi(load(values.config));
  const encoded = (id: string) => `/v1/identities/${encodeURIComponent(id)}`;
  if (sub === 'show' && positionals.length === 1) return call('GET', encoded(positionals[0]));
  const peerGroup = values['peer-group'];
  const change = sub === 'allow' || sub === 'disallow';
  if (change && peerGroup !== undefined && positionals.length === 2) {
    const [dimension, item] = positionals;
    return call('POST', `/v1/peer-groups/${encodeURIComponent(peerGroup)}/${sub}`, { dimension, item });
  }
  if (change && peerGroup === undefined && positionals.length === 3) {
    const [identity, dimension, item] = positionals;
    return call('POST', `${encoded(identity)}/${sub}`, { dimension, item });
  }
  if (sub === 'allows' && positionals.length <= (peerGroup === undefined ? 1 : 0)) {
    const query = peerGroup !== undefined ? `?peerGroup=${encodeURIComponent(peerGroup)}` : positionals.length === 1 ? `?identity=${encodeURIComponent(positionals[0])}` : '';
    return call('GET', `/v1/allows${query}`);
  }
  if (sub === 'reset' && positionals.length === 1) return call('POST', `${encoded(positionals[0])}/reset`);
  throw new UserError(
    'usage: vigil baseline show IDENTITY | vigil baseline allow IDENTITY DIMENSION ITEM | vigil baseline allow --peer-group GROUP DIMENSION ITEM (dimension: tool, target, host, zone, scope, agent, access SUBJECT|CLASS, transition KIND:TARGET -> KIND:TARGET, flow SOURCE => HOST, bulk SOURCE) | vigil baseline disallow IDENTITY DIMENSION ITEM | vigil baseline disallow --peer-group GROUP DIMENSION ITEM | vigil baseline allows [IDENTITY | --peer-group GROUP] | vigil baseline reset IDENTITY',
  );
}
