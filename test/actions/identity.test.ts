import { describe, expect, it } from 'vitest';
import { compileGlob } from '../../src/actions/glob.js';
import { rejectReason, resolveIdentity } from '../../src/actions/identity.js';
import { AGENT_RESOURCE, config, span } from './fixtures.js';

const cfg = config();

describe('identity chain', () => {
  it('span nhi.identity wins over the resource', () => {
    const s = span({ attrs: { 'nhi.identity': 'span-id' }, resource: { 'nhi.identity': 'res-id', 'service.name': 'svc' } });
    expect(resolveIdentity(s, cfg)).toEqual({ identity: 'span-id', peerGroup: 'svc' });
  });

  it('then resource nhi.identity, resource gen_ai.agent.id, resource service.name', () => {
    expect(resolveIdentity(span({ resource: { 'nhi.identity': 'a', 'gen_ai.agent.id': 'b', 'service.name': 'c' } }), cfg)?.identity).toBe('a');
    expect(resolveIdentity(span({ resource: { 'gen_ai.agent.id': 'b', 'service.name': 'c' } }), cfg)?.identity).toBe('b');
    expect(resolveIdentity(span({ resource: { 'service.name': 'c' } }), cfg)?.identity).toBe('c');
  });

  it('a span-level gen_ai.agent.id is never the identity', () => {
    const s = span({ attrs: { 'gen_ai.agent.id': 'invoked-agent' }, resource: { 'service.name': 'caller' } });
    expect(resolveIdentity(s, cfg)?.identity).toBe('caller');
  });

  it("the SDKs' placeholder service name is no peer group (review41 M6), but still an identity: refused, the agent would go unseen (review42 M2)", () => {
    const cfg = config();
    const unnamed = (name: string, extra: Record<string, string> = {}) => span({ resource: { 'service.name': name, ...extra } });
    expect(resolveIdentity(unnamed('unknown_service'), cfg)).toEqual({ identity: 'unknown_service', peerGroup: '' });
    expect(resolveIdentity(unnamed('unknown_service:/usr/bin/node'), cfg)).toEqual({ identity: 'unknown_service:/usr/bin/node', peerGroup: '' });
    expect(resolveIdentity(unnamed('unknown_service:node', { 'nhi.identity': 'spiffe://acme/a' }), cfg)).toEqual({ identity: 'spiffe://acme/a', peerGroup: '' });
    expect(resolveIdentity(unnamed('unknown_services'), cfg)).toEqual({ identity: 'unknown_services', peerGroup: 'unknown_services' }); // a name of its own
  });
  it('skips empty and non-string values', () => {
    const s = span({ attrs: { 'nhi.identity': '' }, resource: { 'nhi.identity': 42, 'service.name': 'svc' } });
    expect(resolveIdentity(s, cfg)?.identity).toBe('svc');
  });

  it('follows a configured chain and peer group; peer group is empty when absent', () => {
    const c = config({ identity: { chain: ['resource:k8s.pod.name'], peerGroup: 'resource:k8s.deployment.name' } });
    expect(resolveIdentity(span({ resource: { 'k8s.pod.name': 'pod-1', 'service.name': 'x' } }), c)).toEqual({ identity: 'pod-1', peerGroup: '' });
    expect(resolveIdentity(span({ resource: { 'service.name': 'x' } }), c)).toBeNull();
  });
});

describe('reject reasons', () => {
  const now = Date.UTC(2026, 0, 5);
  it('accepts a well-formed span', () => {
    expect(rejectReason(span({ start: now }), now, cfg)).toBeNull();
  });
  it('no_identity', () => {
    expect(rejectReason(span({ resource: {} }), now, cfg)).toBe('no_identity');
  });
  it('invalid_trace_id: empty or all zeros', () => {
    expect(rejectReason({ ...span(), traceId: '' }, now, cfg)).toBe('invalid_trace_id');
    expect(rejectReason({ ...span(), traceId: '0'.repeat(32) }, now, cfg)).toBe('invalid_trace_id');
  });
  it('invalid_span_id: empty or all zeros', () => {
    expect(rejectReason({ ...span(), spanId: '' }, now, cfg)).toBe('invalid_span_id');
    expect(rejectReason({ ...span(), spanId: '0'.repeat(16) }, now, cfg)).toBe('invalid_span_id');
  });
  it('no_start_time: a start left unset (0, 1970) or before 2000 (review40 M2)', () => {
    expect(rejectReason(span({ start: 0 }), now, cfg)).toBe('no_start_time');
    expect(rejectReason(span({ start: Date.UTC(1999, 11, 31, 23, 59, 59) }), now, cfg)).toBe('no_start_time');
    expect(rejectReason(span({ start: Date.UTC(2000, 0, 1) }), now, cfg)).toBeNull();
  });
  it('future_start: more than time.maxFutureSkew ahead of now', () => {
    const skew = cfg.time.maxFutureSkew;
    expect(rejectReason(span({ start: now + skew }), now, cfg)).toBeNull();
    expect(rejectReason(span({ start: now + skew + 1 }), now, cfg)).toBe('future_start');
  });
});

// receivers.otlp.clientIdentities, as the ingest worker compiles a client's rule (red-team I4).
describe('what a client may send', () => {
  const now = Date.UTC(2026, 0, 5);
  const globs = (...patterns: string[]) => patterns.map((p) => compileGlob(p, { caseSensitive: true }));
  const pinned = { identities: globs('spiffe://acme/*'), peerGroups: globs('billing-*') };
  const claiming = (resource: Record<string, string>) => span({ start: now, resource: { ...AGENT_RESOURCE, ...resource } });

  it('peer_group_not_allowed: a peer group its patterns do not match (case-sensitively); a rule without them admits any', () => {
    expect(rejectReason(claiming({}), now, cfg, pinned)).toBeNull();
    expect(rejectReason(claiming({ 'service.name': 'support-agent' }), now, cfg, pinned)).toBe('peer_group_not_allowed');
    expect(rejectReason(claiming({ 'service.name': 'Billing-agent' }), now, cfg, pinned)).toBe('peer_group_not_allowed');
    expect(rejectReason(claiming({ 'service.name': 'support-agent' }), now, cfg, { ...pinned, peerGroups: null })).toBeNull();
  });

  it('an identity it may not speak for is said first', () => {
    expect(rejectReason(claiming({ 'nhi.identity': 'spiffe://evil/x', 'service.name': 'support-agent' }), now, cfg, pinned)).toBe('identity_not_allowed');
  });

  it('judges the peer group as identity.peerGroup derives it, not service.name; none is the empty group, which only * admits', () => {
    const byTeam = config({ identity: { peerGroup: 'resource:team' } });
    expect(rejectReason(claiming({ team: 'billing-eu' }), now, byTeam, pinned)).toBeNull();
    expect(rejectReason(claiming({ team: 'support' }), now, byTeam, pinned)).toBe('peer_group_not_allowed'); // service.name billing-agent fits, and does not count
    expect(rejectReason(claiming({}), now, byTeam, pinned)).toBe('peer_group_not_allowed');
    expect(rejectReason(claiming({}), now, byTeam, { ...pinned, peerGroups: globs('*') })).toBeNull();
  });
});
