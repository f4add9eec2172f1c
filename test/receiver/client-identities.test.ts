/**
 * How a client certificate is named and matched for `receivers.otlp.clientIdentities` (the receivers'
 * end-to-end behaviour is in e2e/client-identities). Peer certificates as Node's TLS socket reports them.
 */
import type { PeerCertificate } from 'node:tls';
import { expect, it } from 'vitest';
import { ClientIdentities, clientName } from '../../src/receiver/client-identities.js';

const cert = (over: Partial<PeerCertificate>) => ({ subject: { CN: 'collector-1' }, ...over }) as PeerCertificate;

it('names a client by its first URI SAN (a SPIFFE ID), else its subject CN', () => {
  expect(clientName(cert({ subjectaltname: 'DNS:collector.internal, URI:spiffe://acme.example/collector, URI:https://x' }))).toBe('spiffe://acme.example/collector');
  expect(clientName(cert({ subjectaltname: 'DNS:collector.internal' }))).toBe('collector-1');
  expect(clientName({} as PeerCertificate)).toBeNull(); // what Node reports when the client sent none
  expect(clientName(null)).toBeNull();
});

it('the first matching rule decides; {client} stands for the client itself; no rule is forbidden', () => {
  const rules = new ClientIdentities([
    { client: 'spiffe://acme.example/collector', identities: ['spiffe://acme.example/ns/support/*'] },
    { client: 'spiffe://acme.example/ns/*', identities: ['{client}', '{client}/*'] },
  ]);
  expect(rules.allowedFor(cert({ subjectaltname: 'URI:spiffe://acme.example/collector' }))).toEqual({ name: 'spiffe://acme.example/collector', identities: ['spiffe://acme.example/ns/support/*'] });
  expect(rules.allowedFor(cert({ subjectaltname: 'URI:spiffe://acme.example/ns/a/sa/b' }))?.identities).toEqual(['spiffe://acme.example/ns/a/sa/b', 'spiffe://acme.example/ns/a/sa/b/*']);
  expect(() => rules.allowedFor(cert({ subjectaltname: 'URI:spiffe://other.example/x' }))).toThrow(/client spiffe:\/\/other\.example\/x/);
  expect(() => rules.allowedFor(null)).toThrow(/no client certificate/);
  // A '*' in a name would widen what {client} allows: refused rather than matched.
  expect(() => rules.allowedFor(cert({ subjectaltname: 'URI:spiffe://acme.example/ns/*' }))).toThrow(/VIGIL_ERR_FORBIDDEN|may not send/);
});

it('without rules any client may send for any identity', () => {
  const none = new ClientIdentities(undefined);
  expect(none.enabled).toBe(false);
  expect(none.allowedFor(null)).toBeNull();
});

it('a rule with peerGroups gives them, {client} replaced; one without gives none (any peer group)', () => {
  const rules = new ClientIdentities([
    { client: 'collector-*', identities: ['*'], peerGroups: ['support', 'fleet-{client}'] },
    { client: 'agent-*', identities: ['{client}'] },
  ]);
  expect(rules.allowedFor(cert({ subject: { CN: 'collector-1' } as PeerCertificate['subject'] }))).toEqual({ name: 'collector-1', identities: ['*'], peerGroups: ['support', 'fleet-collector-1'] });
  expect(rules.allowedFor(cert({ subject: { CN: 'agent-7' } as PeerCertificate['subject'] }))).not.toHaveProperty('peerGroups');
});
