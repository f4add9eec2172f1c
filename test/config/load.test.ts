import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, formatEffectiveConfig, loadConfig, packageRoot } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes an EC P-256 PKCS#8 key at `rel` under the temp folder: the loader checks ssf signing keys. */
function writeSigningKey(rel: string): void {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  mkdirSync(join(dir, rel, '..'), { recursive: true });
  writeFileSync(join(dir, rel), privateKey.export({ type: 'pkcs8', format: 'pem' }));
}
writeSigningKey('nested/keys/ssf.pem');
writeSigningKey('k.pem');

let fileCount = 0;
/** Writes `yaml` to a fresh file under `sub` of the temp folder and returns its path. */
function write(yaml: string, sub = '.'): string {
  mkdirSync(join(dir, sub), { recursive: true });
  const path = join(dir, sub, `config-${++fileCount}.yaml`);
  writeFileSync(path, yaml);
  return path;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

/** Every key path of the nested objects in `value` (array contents are examples, not keys). */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, item]) => [`${prefix}${key}`, ...keyPaths(item, `${prefix}${key}.`)]);
}

describe('loadConfig', () => {
  it("loads the repository's config.yaml, which equals the pure defaults", () => {
    const { config, path } = loadConfig({ env: {} });
    expect(path).toBe(join(packageRoot(), 'config.yaml'));
    const defaults = configSchema.parse({});
    defaults.storage.path = join(packageRoot(), 'data', 'vigil.db');
    expect(config).toEqual(defaults);
  });

  it('without a path, reads the file VIGIL_CONFIG names; a path given beats it; a missing one is named by what chose it', () => {
    const chosen = write('api: { endpoint: "127.0.0.1:9911" }\n');
    expect(loadConfig({ env: { VIGIL_CONFIG: chosen } })).toMatchObject({ path: chosen, config: { api: { endpoint: '127.0.0.1:9911' } } });
    const given = write('api: { endpoint: "127.0.0.1:9922" }\n');
    expect(loadConfig({ path: given, env: { VIGIL_CONFIG: chosen } }).config.api.endpoint).toBe('127.0.0.1:9922');
    expect(loadConfig({ env: { VIGIL_CONFIG: '' } }).path).toBe(join(packageRoot(), 'config.yaml')); // empty: unset
    const missing = join(dir, 'nowhere.yaml');
    expect(problemsOf(() => loadConfig({ env: { VIGIL_CONFIG: missing } }))).toEqual([`${missing}: no such file; check the VIGIL_CONFIG path`]);
    expect(problemsOf(() => loadConfig({ path: missing, env: {} }))).toEqual([`${missing}: no such file; check the --config path`]);
  });

  it('config.yaml spells out every key of the schema and binds only loopback', () => {
    const raw = parse(readFileSync(join(packageRoot(), 'config.yaml'), 'utf8'));
    expect(keyPaths(raw).sort()).toEqual(keyPaths(configSchema.parse({})).sort());
    const endpoints = [raw.receivers.otlp.grpc.endpoint, raw.receivers.otlp.http.endpoint, raw.api.endpoint];
    for (const endpoint of endpoints) expect(endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('treats an empty file, and keys with no value, as defaults', () => {
    const empty = loadConfig({ path: write(''), env: {} }).config;
    const blank = loadConfig({ path: write('webhooks:\nzones:\napi:\n  token:\n'), env: {} }).config;
    expect(blank).toEqual(empty);
    expect(empty.webhooks).toEqual([]);
    expect(empty.api.token).toBeUndefined();
  });

  it("resolves relative paths against the config file's folder", () => {
    const path = write(
      [
        'storage: { path: "db/vigil.db" }',
        'revocation:',
        '  brokers:',
        '    - { name: idp, type: ssf, url: "https://idp.example/push", issuer: vigil, audience: idp, signingKey: "keys/ssf.pem" }',
      ].join('\n'),
      'nested',
    );
    const { config } = loadConfig({ path, env: {} });
    expect(config.storage.path).toBe(join(dir, 'nested', 'db', 'vigil.db'));
    const broker = config.revocation.brokers[0];
    expect(broker.type === 'ssf' && broker.signingKey).toBe(join(dir, 'nested', 'keys', 'ssf.pem'));
  });

  it('keeps :memory: and absolute storage paths as written', () => {
    expect(loadConfig({ path: write('storage: { path: ":memory:" }'), env: {} }).config.storage.path).toBe(':memory:');
    const absolute = join(dir, 'elsewhere', 'v.db');
    expect(loadConfig({ path: write(`storage: { path: "${absolute}" }`), env: {} }).config.storage.path).toBe(absolute);
  });

  it('lets VIGIL_API_TOKEN override api.token, held to the same rule', () => {
    const path = write('api: { token: "from-the-file-0123456789" }');
    expect(loadConfig({ path, env: {} }).config.api.token).toBe('from-the-file-0123456789');
    expect(loadConfig({ path, env: { VIGIL_API_TOKEN: 'from-the-environment-42' } }).config.api.token).toBe('from-the-environment-42');
    expect(loadConfig({ path, env: { VIGIL_API_TOKEN: '' } }).config.api.token).toBe('from-the-file-0123456789');
    expect(problemsOf(() => loadConfig({ path, env: { VIGIL_API_TOKEN: 'short' } }))).toEqual([
      'VIGIL_API_TOKEN: must be at least 16 characters',
    ]);
  });

  it('lets VIGIL_RECEIVER_TOKEN override receivers.otlp.token, held to the same rule', () => {
    const path = write('receivers: { otlp: { token: "from-the-file-0123456789" } }');
    expect(loadConfig({ path, env: {} }).config.receivers.otlp.token).toBe('from-the-file-0123456789');
    expect(loadConfig({ path, env: { VIGIL_RECEIVER_TOKEN: 'from-the-environment-42' } }).config.receivers.otlp.token).toBe('from-the-environment-42');
    expect(loadConfig({ path: write(''), env: {} }).config.receivers.otlp.token).toBeUndefined();
    expect(problemsOf(() => loadConfig({ path, env: { VIGIL_RECEIVER_TOKEN: 'short' } }))).toEqual([
      'VIGIL_RECEIVER_TOKEN: must be at least 16 characters',
    ]);
    // A secret mounted from a file often ends in a newline: no request could present it.
    expect(problemsOf(() => loadConfig({ path, env: { VIGIL_RECEIVER_TOKEN: 'receiver-token-0123456789\n' } }))).toEqual([
      'VIGIL_RECEIVER_TOKEN: must not contain spaces or line breaks',
    ]);
  });

  it('returns a deeply frozen config', () => {
    const path = write('webhooks: [{ url: "http://127.0.0.1:9000/hook", secret: "whsec_dmlnaWwtdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OQ==" }]');
    const { config } = loadConfig({ path, env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.receivers.otlp.grpc)).toBe(true);
    expect(Object.isFrozen(config.webhooks[0].detectors)).toBe(true);
    expect(() => {
      (config.api as { endpoint: string }).endpoint = '0.0.0.0:8790';
    }).toThrow(TypeError);
  });

  it('reports every problem in a file at once, each with its key path', () => {
    const path = write(
      [
        'recievers: {}',
        'api: { endpoint: "127.0.0.1:99999", metricsPublic: "no" }',
        'time: { lateness: "soon" }',
        'webhooks: [{ url: "http://127.0.0.1:9000/hook", secret: "nope" }]',
      ].join('\n'),
    );
    const problems = problemsOf(() => loadConfig({ path, env: { VIGIL_API_TOKEN: 'short' } }));
    expect(problems).toEqual(
      expect.arrayContaining([
        'recievers: unknown key (did you mean receivers?)',
        'api.endpoint: port must be at most 65535',
        'api.metricsPublic: must be true or false',
        'time.lateness: must be a duration such as 250ms, 5s, 5m, 12h or 7d',
        'webhooks[0].secret: must start with whsec_',
        'VIGIL_API_TOKEN: must be at least 16 characters',
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  it('names the path of a config file that does not exist', () => {
    const missing = join(dir, 'no-such.yaml');
    const problems = problemsOf(() => loadConfig({ path: missing, env: {} }));
    expect(problems).toEqual([`${missing}: no such file; check the --config path`]);
  });

  it('says a config path that is a folder is not a file', () => {
    const folder = join(dir, 'nested');
    const problems = problemsOf(() => loadConfig({ path: folder, env: {} }));
    expect(problems).toEqual([`${folder}: is a folder, not a file`]);
  });

  it('puts every problem in the error message, for callers that print only that', () => {
    const path = write('foo: 1\nbar: 2\n');
    expect(() => loadConfig({ path, env: {} })).toThrow(/foo: unknown key[\s\S]*bar: unknown key/);
  });
});

describe('formatEffectiveConfig', () => {
  const secrets = ['api-token-0123456789abcdef', 'whsec_aG9vay1zZWNyZXQtZm9yLXRoZS1yZWRhY3Rpb24tdGVzdA==', 'whsec_YnJva2VyLXNlY3JldC1mb3ItdGhlLXJlZGFjdGlvbi10ZXN0', 'hvs.vault-token', 'Bearer ssf-push-token'];

  it('redacts every secret', () => {
    const path = write(
      [
        `api: { token: "${secrets[0]}" }`,
        `webhooks: [{ url: "http://127.0.0.1:9000/hook", secret: "${secrets[1]}" }]`,
        'revocation:',
        '  brokers:',
        `    - { name: hook, type: webhook, url: "http://127.0.0.1:9001/revoke", secret: "${secrets[2]}" }`,
        `    - { name: vault, type: vault, address: "http://127.0.0.1:8200", token: "${secrets[3]}" }`,
        `    - { name: idp, type: ssf, url: "https://idp.example/push", issuer: vigil, audience: idp, signingKey: k.pem, authorization: "${secrets[4]}" }`,
      ].join('\n'),
    );
    const text = formatEffectiveConfig(loadConfig({ path, env: {} }).config);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text.match(/: <redacted>$/gm)).toHaveLength(secrets.length);
  });

  it('prints webhook and broker URLs as their origin: a path or query may hold a credential', () => {
    const path = write(
      [
        'webhooks: [{ url: "https://siem.example/hook?apikey=URLSECRET1", secret: "whsec_aG9vay1zZWNyZXQtZm9yLXRoZS1yZWRhY3Rpb24tdGVzdA==" }]',
        'revocation:',
        '  brokers:',
        '    - { name: hook, type: webhook, url: "https://broker.example/services/T0/URLSECRET3", secret: "whsec_YnJva2VyLXNlY3JldC1mb3ItdGhlLXJlZGFjdGlvbi10ZXN0" }',
        '    - { name: vault, type: vault, address: "https://vault.example:8200", token: "hvs.vault-token" }',
      ].join('\n'),
    );
    const text = formatEffectiveConfig(loadConfig({ path, env: {} }).config);
    expect(text).not.toMatch(/URLSECRET/);
    expect(text).toContain('url: https://siem.example/<redacted>');
    expect(text).toContain("url: https://broker.example/<redacted>");
    expect(text).toContain('address: https://vault.example:8200');
  });

  it('prints durations as written in config.yaml and loads back to the same config', () => {
    const path = write(
      [
        'time: { lateness: 90s, maxFutureSkew: 2h }',
        'storage: { path: "db/v.db", flushInterval: 1500ms }',
        'zones: { secrets: ["vault.*"], internal: ["*.internal", "10.0.0.0/8"] }',
        'sensitive: { zones: [secrets] }',
        'catalog: [{ tool: tickets.purge, access: delete }]',
        'revocation:',
        '  mode: enforce',
        '  rules: [{ detectors: [retry_storm], broker: idp }]',
        '  brokers: [{ name: idp, type: ssf, url: "https://idp.example", issuer: vigil, audience: idp, signingKey: k.pem }]',
      ].join('\n'),
    );
    const { config } = loadConfig({ path, env: {} });
    const text = formatEffectiveConfig(config);
    expect(text).toContain('lateness: 90s');
    expect(text).toContain('maxFutureSkew: 2h');
    expect(text).toContain('flushInterval: 1500ms');
    expect(text).toContain('retryAfter: 1s');
    expect(loadConfig({ path: write(text, 'reloaded'), env: {} }).config).toEqual(config);
  });
});

describe('listeners sharing a port', () => {
  it('refuses two on one address, or one on every address of the other\'s family; allows the rest', () => {
    const listeners = (grpc: string, api: string) => `receivers: { otlp: { grpc: { endpoint: "${grpc}" } } }\napi: { endpoint: "${api}" }\n`;
    const refused = 'api.endpoint: uses port 4317, as receivers.otlp.grpc.endpoint does; give each listener its own port';
    for (const [grpc, api] of [['127.0.0.1:4317', '127.0.0.1:4317'], ['0.0.0.0:4317', '127.0.0.1:4317'], ['[::]:4317', '127.0.0.1:4317'], ['[::1]:4317', '[::]:4317']]) {
      expect(problemsOf(() => loadConfig({ path: write(listeners(grpc, api)), env: {} })), `${grpc} ${api}`).toContain(refused);
    }
    for (const [grpc, api] of [['0.0.0.0:4317', '[::1]:4317'], ['127.0.0.1:4317', '10.1.2.3:4317'], ['127.0.0.1:0', '127.0.0.1:0']]) {
      expect(() => loadConfig({ path: write(listeners(grpc, api)), env: {} }), `${grpc} ${api}`).not.toThrow();
    }
  });
});

// Review42 M5, review43 M2: an MCP resource's target is its URI, http(s) ones included (warned of: warnings.test.ts).
it('accepts a target glob written as a URI (an MCP resource), refuses a path or an HTTP query', () => {
  for (const glob of ['file:///srv/secrets/*', 'https://docs.internal/hr/*', 'docs.internal/kb/articles/*']) {
    expect(configSchema.safeParse({ sensitive: { targets: [glob] } }).success).toBe(true);
  }
  expect(configSchema.safeParse({ sensitive: { targets: ['/kb/search'] } }).success).toBe(false);
});
