/** `revocation.rules`: the first rule whose detectors, minSeverity and credentialTypes all match. */
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { matchRule } from '../../src/revocation/rules.js';

const { revocation } = configSchema.parse({
  revocation: {
    rules: [
      { detectors: ['retry_storm'], minSeverity: 'medium', broker: 'storms' },
      { detectors: ['*'], minSeverity: 'high', credentialTypes: ['vault_lease', 'vault_token_accessor'], broker: 'vault' },
      { detectors: ['unexpected_write', 'scope_drift'], minSeverity: 'critical', broker: 'idp' },
    ],
    brokers: [
      { name: 'storms', type: 'webhook', url: 'http://127.0.0.1:9001/revoke', secret: 'whsec_dmlnaWwtdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OQ==' },
      { name: 'vault', type: 'vault', address: 'http://127.0.0.1:8200', token: 't' },
      { name: 'idp', type: 'webhook', url: 'http://127.0.0.1:9002/revoke', secret: 'whsec_dmlnaWwtdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OQ==' },
    ],
  },
});
const pick = (detector: string, severity: 'low' | 'medium' | 'high' | 'critical', type: string | null) => matchRule(revocation.rules, { detector, severity }, type)?.rule.broker ?? null;

describe('matchRule', () => {
  it('takes the first matching rule in order', () => {
    expect(pick('retry_storm', 'critical', 'vault_lease')).toBe('storms');
    expect(pick('unexpected_write', 'critical', 'vault_lease')).toBe('vault');
    expect(pick('unexpected_write', 'critical', 'oauth_jti')).toBe('idp');
  });

  it('treats minSeverity as inclusive', () => {
    expect(pick('retry_storm', 'medium', null)).toBe('storms');
    expect(pick('retry_storm', 'low', null)).toBeNull();
    expect(pick('lateral_chaining', 'high', 'vault_lease')).toBe('vault');
  });

  it('matches listed credential types only when the spans said the type', () => {
    expect(pick('lateral_chaining', 'critical', null)).toBeNull();
    expect(pick('scope_drift', 'critical', null)).toBe('idp');
  });

  it('defaults to every detector, every credential type, critical only', () => {
    const defaults = configSchema.parse({ revocation: { rules: [{ broker: 'b' }], brokers: [{ name: 'b', type: 'vault', address: 'http://127.0.0.1:8200', token: 't' }] } });
    expect(matchRule(defaults.revocation.rules, { detector: 'retry_storm', severity: 'critical' }, null)?.index).toBe(0);
    expect(matchRule(defaults.revocation.rules, { detector: 'retry_storm', severity: 'high' }, 'x')).toBeNull();
  });

  it('never matches an alert about the telemetry, even with `*`: the identity it names is a claim Vigil refused', () => {
    const all = configSchema.parse({ revocation: { rules: [{ broker: 'b', minSeverity: 'low' }], brokers: [{ name: 'b', type: 'vault', address: 'http://127.0.0.1:8200', token: 't' }] } });
    expect(matchRule(all.revocation.rules, { detector: 'telemetry_integrity', severity: 'high' }, 'x')).toBeNull();
    expect(matchRule(all.revocation.rules, { detector: 'scope_drift', severity: 'high' }, 'x')?.index).toBe(0);
  });
});
