import { describe, expect, it } from 'vitest';
import { compileGlob } from '../../src/actions/glob.js';
import { compileSensitive, compileZones, parseCidr } from '../../src/actions/zones.js';
import { config } from './fixtures.js';

describe('globs', () => {
  it('* matches any run including dots and slashes; case-insensitive; the rest is literal', () => {
    expect(compileGlob('*.internal').test('a.b.internal')).toBe(true);
    expect(compileGlob('vault.*').test('vault.prod.example.com')).toBe(true);
    expect(compileGlob('*secret*').test('getsecretvalue')).toBe(true);
    expect(compileGlob('db.*.svc').test('db.a.b.svc')).toBe(true);
    expect(compileGlob('a.b').test('axb')).toBe(false);
    expect(compileGlob('pg/*/users').test('pg/shop/users')).toBe(true);
  });

  it('any number of stars matches as the regular expression would (random subjects against many shapes)', () => {
    const patterns = ['*.*.internal', 'a*b*c', '*a*b*', 'a*a*a', '*ab*ba*', 'a**b', '*.*.*.*.internal', 'x*', '*x', '*x*', 'ab', '*'];
    const asRegex = (p: string) => new RegExp(`^${p.split('*').map((part) => part.replace(/[.]/g, '\\.')).join('.*')}$`, 's');
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const alphabet = 'ab.xinter\nl';
    for (const p of patterns) {
      const glob = compileGlob(p);
      const re = asRegex(p);
      for (let i = 0; i < 2000; i++) {
        const s = Array.from({ length: rand(14) }, () => alphabet[rand(alphabet.length)]).join('');
        if (glob.test(s) !== re.test(s)) throw new Error(`${p} on ${JSON.stringify(s)}: ${glob.test(s)}, the regex says ${re.test(s)}`);
      }
    }
    expect(compileGlob('*.*.*.*.internal').test('a.b.c.d.internal')).toBe(true);
    expect(compileGlob('*.*.*.*.internal').test('.'.repeat(255) + 'x')).toBe(false); // the subject review25 F4 stalled a regex with
  });

  it('case-sensitive when asked (identities): the case variant of a name is not it', () => {
    const g = compileGlob('spiffe://acme/ns/*/sa/Agent-1', { caseSensitive: true });
    expect(g.test('spiffe://acme/ns/support/sa/Agent-1')).toBe(true);
    expect(g.test('spiffe://acme/ns/support/sa/agent-1')).toBe(false);
    expect(compileGlob('Agent-*', { caseSensitive: true }).test('agent-1')).toBe(false);
  });
});

describe('zones', () => {
  const zones = compileZones(config({
    zones: {
      secrets: ['vault.*'],
      internal: ['*.internal', '*.svc.cluster.local', '10.0.0.0/8', 'fd00::/8'],
      broad: ['*'],
    },
  }));
  it('host globs, dots included, any case', () => {
    expect(zones.zoneOf('vault.prod.example.com')).toBe('secrets');
    expect(zones.zoneOf('API.Billing.INTERNAL')).toBe('internal');
    expect(zones.zoneOf('payments.default.svc.cluster.local')).toBe('internal');
  });
  it('CIDRs for IP literals (v4, v6, v4-mapped v6)', () => {
    expect(zones.zoneOf('10.20.30.40')).toBe('internal');
    expect(zones.zoneOf('fd12:3456::1')).toBe('internal');
    expect(zones.zoneOf('::ffff:10.1.2.3')).toBe('internal');
  });
  it('config order: the first matching zone wins', () => {
    expect(zones.zoneOf('vault.internal')).toBe('secrets');
    expect(zones.zoneOf('example.com')).toBe('broad');
  });
  it('no match is external', () => {
    const z = compileZones(config({ zones: { internal: ['*.internal', '10.0.0.0/8'] } }));
    expect(z.zoneOf('api.openai.com')).toBe('external');
    expect(z.zoneOf('11.0.0.1')).toBe('external');
  });
  it('parses CIDRs and rejects non-CIDRs', () => {
    expect(parseCidr('192.168.0.0/16')).not.toBeNull();
    expect(parseCidr('2001:db8::/32')).not.toBeNull();
    expect(parseCidr('*.internal')).toBeNull();
    expect(parseCidr('10.0.0.0/33')).toBeNull();
  });
});

describe('sensitive rules', () => {
  const s = compileSensitive(config({
    zones: { secrets: ['vault.*'] },
    sensitive: { zones: ['secrets'], tools: ['*secret*'], targets: ['postgresql/hr/*', 'api.example.com/people/*'] },
  }));
  it('zones by name, tools and targets by glob', () => {
    expect(s.zone('secrets')).toBe(true);
    expect(s.zone('external')).toBe(false);
    expect(s.zone(null)).toBe(false);
    expect(s.tool('read_Secret_value')).toBe(true);
    expect(s.tool('weather')).toBe(false);
    expect(s.target('postgresql/hr/salaries')).toBe(true);
    expect(s.target('api.example.com/people/{id}')).toBe(true);
    expect(s.target('api.example.com/orders/{id}')).toBe(false);
  });
  // Regression (review19 F16b): a name that looks like the sensitive one to an analyst escaped its glob.
  it('a look-alike name matches as the name it imitates: other scripts\' letters, invisible characters, fullwidth forms', () => {
    for (const lookalike of ['get_\u0455ecret', 'get_se\u200Bcret', 'ｇｅｔ＿ｓｅｃｒｅｔ', 'GET_S\u0395CRET']) expect(s.tool(lookalike), lookalike).toBe(true);
    expect(s.tool('get_s\u00e9cret')).toBe(false); // an accented letter is another letter
    expect(s.target('postgresql/\u04bbr/salaries')).toBe(true);
  });
});
