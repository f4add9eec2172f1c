/** The configured brokers by name, one implementation per type (webhook.ts, vault.ts, ssf.ts). */
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { loadSigningKey, SigningKeyError } from './ssf-key.js';
import { ssfBroker } from './ssf.js';
import type { Broker } from './types.js';
import { vaultBroker } from './vault.js';
import { webhookBroker } from './webhook.js';

/**
 * Builds every broker of `revocation.brokers`. The loader already checked the ssf keys; a key that went
 * missing since then is still reported as a config error, not a stack trace.
 */
export function createBrokers(config: Config): Map<string, Broker> {
  const brokers = new Map<string, Broker>();
  config.revocation.brokers.forEach((b, i) => {
    if (b.type === 'webhook') brokers.set(b.name, webhookBroker(b));
    else if (b.type === 'vault') brokers.set(b.name, vaultBroker(b));
    else {
      try {
        brokers.set(b.name, ssfBroker(b, loadSigningKey(b.signingKey)));
      } catch (err) {
        if (err instanceof SigningKeyError) throw new ConfigError([`revocation.brokers[${i}].signingKey: ${err.message}`], 'config');
        throw err;
      }
    }
  });
  return brokers;
}
