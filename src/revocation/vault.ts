/**
 * The `vault` broker: HashiCorp Vault's own revocation endpoints (CONTRACT §6) —
 * `POST /v1/sys/leases/revoke {"lease_id"}` for a `vault_lease` and
 * `POST /v1/auth/token/revoke-accessor {"accessor"}` for a `vault_token_accessor` — authenticated with
 * `X-Vault-Token`. Vault answers 204 on success. Any other credential type is not revocable here.
 */
import type { Config } from '../config/schema.js';
import { NO_CREDENTIAL, type Broker } from './types.js';

type VaultBrokerConfig = Extract<Config['revocation']['brokers'][number], { type: 'vault' }>;

/** Credential type -> Vault API path and the body field naming the credential. */
const VAULT_ENDPOINTS: Readonly<Record<string, { path: string; field: string }>> = {
  vault_lease: { path: '/v1/sys/leases/revoke', field: 'lease_id' },
  vault_token_accessor: { path: '/v1/auth/token/revoke-accessor', field: 'accessor' },
};

/** The credential types a vault broker revokes (check-config warns of a rule routing it no other). */
export const VAULT_TYPES: readonly string[] = Object.keys(VAULT_ENDPOINTS);

export function vaultBroker(config: VaultBrokerConfig): Broker {
  // Keep a path prefix (Vault behind a proxy at https://host/vault/); only a trailing slash is dropped.
  const base = config.address.replace(/\/+$/, '');
  return {
    name: config.name,
    type: 'vault',
    refuses(credential) {
      if (credential.id === null) return NO_CREDENTIAL;
      if (credential.type !== null && Object.hasOwn(VAULT_ENDPOINTS, credential.type)) return null;
      const what = credential.type === null ? 'a credential of unknown type' : `credential type ${credential.type}`;
      return `broker "${config.name}" (vault) revokes only vault_lease and vault_token_accessor, not ${what}`;
    },
    request(job) {
      const endpoint = VAULT_ENDPOINTS[job.credentialType!];
      return {
        url: base + endpoint.path,
        headers: { 'content-type': 'application/json', 'x-vault-token': config.token },
        body: JSON.stringify({ [endpoint.field]: job.credentialId }),
      };
    },
  };
}
