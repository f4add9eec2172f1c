import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { configWarnings } from '../../src/config/warnings.js';

describe('configWarnings: zone globs', () => {
  // Review31 L2: the example zone `vault.*` matched vault.attacker-cdn.example, so a POST there was a
  // write into zone secrets, not egress.
  it('names each zone glob ending in *, which outside hosts can match; not globs pinned to a domain, nor CIDRs', () => {
    const config = configSchema.parse({
      zones: { secrets: ['vault.internal', 'vault.*'], internal: ['*.internal', '10.0.0.0/8', 'build*', '*.svc.cluster.local'] },
    });
    const warnings = configWarnings(config);
    expect(warnings.map((w) => w.key)).toEqual(['zones.secrets[1]', 'zones.internal[2]']);
    expect(warnings[0].message).toContain('vault.attacker.example matches');
    expect(warnings[0].message).toContain('zone secrets, not external');
  });

  // Review41 H6: a subnet as a zone places only hosts written as addresses; named hosts are external.
  it('names a zone of CIDRs only: its hosts by name are not in it', () => {
    const config = configSchema.parse({ zones: { secrets: ['10.9.0.0/16'], internal: ['*.internal', '10.0.0.0/8'] } });
    const warnings = configWarnings(config);
    expect(warnings.map((w) => w.key)).toEqual(['zones.secrets']);
    expect(warnings[0].message).toMatch(/^holds only CIDRs, which place only calls to hosts written as IP addresses/);
  });

  // Review41 H1: a target glob copied as an http(s) URL matches no HTTP call (their targets are host/path).
  it('names a target glob written as an http(s) URL, which only an MCP resource can match', () => {
    const config = configSchema.parse({ sensitive: { targets: ['https://vault.internal/v1/secret/*', 'file:///srv/*'] }, catalog: [{ target: 'http://kb.internal:8443/search', access: 'read' }] });
    const warnings = configWarnings(config);
    expect(warnings.map((w) => w.key)).toEqual(['sensitive.targets[0]', 'catalog[0].target']);
    expect(warnings[0].message).toContain('write "vault.internal/v1/secret/*" for HTTP calls');
    expect(warnings[1].message).toContain('write "kb.internal/search" for HTTP calls'); // no port: targets carry none
  });

  it('exposure warnings still come first', () => {
    const config = configSchema.parse({ api: { endpoint: '0.0.0.0:8790' }, zones: { secrets: ['vault.*'] } });
    expect(configWarnings(config).map((w) => w.key)).toEqual(['api.endpoint', 'zones.secrets[0]']);
  });
});

describe('configWarnings: client rules that leave peer groups open', () => {
  // Red-team I4: a client pinned to its own identity could claim any service.name, share that group's
  // credentials without an alert and be judged by its baseline.
  it('names each clientIdentities rule without peerGroups; not one that lists them, even *', () => {
    const tls = { cert: 'server.pem', key: 'server-key.pem', clientCa: 'ca.pem' };
    const config = configSchema.parse({
      receivers: {
        otlp: {
          grpc: { tls },
          http: { tls },
          clientIdentities: [
            { client: 'spiffe://acme.example/collector', identities: ['*'], peerGroups: ['*'] },
            { client: 'spiffe://acme.example/ns/*', identities: ['{client}'] },
            { client: 'agent-*', identities: ['{client}'], peerGroups: ['support'] },
          ],
        },
      },
    });
    const warnings = configWarnings(config);
    expect(warnings.map((w) => w.key)).toEqual(['receivers.otlp.clientIdentities[1]']);
    expect(warnings[0].message).toMatch(/^lists no peerGroups, so its clients may claim any peer group: they share the credentials/);
  });
});

// Review41 L2: revocation and webhook settings that can never do anything were accepted without a word.
describe('configWarnings: deliveries that can never happen', () => {
  const vault = { name: 'vault', type: 'vault', address: 'https://vault.internal:8200', token: 'hvs.test' };
  it('enforce with no rule, a vault rule for types it cannot revoke, a webhook for disabled detectors only', () => {
    const config = configSchema.parse({
      detectors: { retry_storm: { enabled: false } },
      revocation: { mode: 'enforce', brokers: [vault] },
      webhooks: [
        { url: 'http://127.0.0.1:9000/a', secret: 'whsec_' + Buffer.alloc(32, 1).toString('base64'), detectors: ['retry_storm'] },
        { url: 'http://127.0.0.1:9000/b', secret: 'whsec_' + Buffer.alloc(32, 2).toString('base64'), detectors: ['retry_storm', 'scope_drift'] },
      ],
    });
    expect(configWarnings(config).map((w) => w.key)).toEqual(['revocation.rules', 'webhooks[0].detectors']);
    const ruled = configSchema.parse({
      revocation: { mode: 'enforce', brokers: [vault], rules: [{ broker: 'vault', credentialTypes: ['oauth_jti'] }, { broker: 'vault', credentialTypes: ['vault_lease'] }] },
    });
    const warnings = configWarnings(ruled);
    expect(warnings.map((w) => w.key)).toEqual(['revocation.rules[0].credentialTypes']);
    expect(warnings[0].message).toContain('every alert this rule matches is not_revocable');
  });
});
