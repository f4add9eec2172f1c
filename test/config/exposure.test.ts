import { describe, expect, it } from 'vitest';
import { exposureWarnings, isLoopbackEndpoint } from '../../src/config/exposure.js';
import { configSchema } from '../../src/config/schema.js';

const SECRET = 'whsec_dmlnaWwtdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OQ==';

describe('exposureWarnings', () => {
  it('names each setting that would send secrets to another host in clear, and nothing else', () => {
    const config = configSchema.parse({
      api: { endpoint: '0.0.0.0:8790' },
      receivers: { otlp: { token: 'receiver-token-0123456789', grpc: { endpoint: '0.0.0.0:4317' }, http: { endpoint: '127.0.0.1:4318' } } },
      webhooks: [
        { url: 'http://127.0.0.1:9000/hook', secret: SECRET },
        { url: 'http://soc.example.com/hook', secret: SECRET },
        { url: 'https://soc.example.com/hook', secret: SECRET },
        { url: 'http://[::1]:9000/hook', secret: SECRET },
      ],
      revocation: {
        brokers: [
          { name: 'local', type: 'webhook', url: 'http://localhost:9001/revoke', secret: SECRET },
          { name: 'vault', type: 'vault', address: 'http://vault.internal:8200', token: 's.token' },
          { name: 'remote', type: 'webhook', url: 'http://10.0.0.9:9001/revoke', secret: SECRET },
        ],
      },
    });
    const warnings = exposureWarnings(config);
    expect(warnings.map((w) => w.key)).toEqual(['api.endpoint', 'receivers.otlp.grpc.endpoint', 'webhooks[1].url', 'revocation.brokers[1].address', 'revocation.brokers[2].url']);
    expect(warnings[3].message).toContain('the Vault token');
  });

  it('the defaults warn of nothing', () => {
    expect(exposureWarnings(configSchema.parse({}))).toEqual([]);
  });

  it('names a receiver beyond loopback that admits anyone (no token, no client certificates); not one that checks either', () => {
    const tls = { cert: 'c.pem', key: 'k.pem' };
    const open = exposureWarnings(configSchema.parse({ receivers: { otlp: { grpc: { endpoint: '0.0.0.0:4317' }, http: { endpoint: '[::]:4318', tls } } } }));
    expect(open.map((w) => w.key)).toEqual(['receivers.otlp.grpc.endpoint', 'receivers.otlp.http.endpoint']);
    expect(open[0].message).toContain('admits anyone');
    const mutual = exposureWarnings(configSchema.parse({ receivers: { otlp: { grpc: { endpoint: '0.0.0.0:4317', tls: { ...tls, clientCa: 'ca.pem' } }, http: { enabled: false, endpoint: '0.0.0.0:4318' } } } }));
    expect(mutual).toEqual([]);
    const token = exposureWarnings(configSchema.parse({ receivers: { otlp: { token: 'receiver-token-0123456789', grpc: { endpoint: '0.0.0.0:4317', tls }, http: { endpoint: '10.0.0.5:4318', tls } } } }));
    expect(token).toEqual([]);
  });

  it('loopback is 127.0.0.0/8, ::1 and localhost; wildcards, LAN addresses and names are not', () => {
    for (const e of ['127.0.0.1:8790', '127.1.2.3:1', '[::1]:8790', 'localhost:8790', 'LOCALHOST:1']) expect(isLoopbackEndpoint(e), e).toBe(true);
    for (const e of ['0.0.0.0:8790', '[::]:8790', '10.0.0.5:8790', 'vigil.internal:8790', '127.0.0.1.evil.com:1', '[::ffff:10.0.0.1]:1']) {
      expect(isLoopbackEndpoint(e), e).toBe(false);
    }
  });
});
