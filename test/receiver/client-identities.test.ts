/**
 * How a client certificate is named and matched for `receivers.otlp.clientIdentities` (the receivers'
 * end-to-end behaviour is in e2e/client-identities). Peer certificates as Node's TLS socket reports them.
 */
import type { PeerCertificate } from 'node:tls';
import { expect, it } from 'vitest';
import { ClientIdentities, clientName } from '../../src/receiver/client-identities.js';

const cert = (over: Partial<PeerCertificate>) => ({ subject: { CN: 'collector-1' }, ...over }) as PeerCertificate;

it('names a client by its first URI SAN (a SPIFFE ID), else its subject CN', () => {
  expect(clientName(cert({ subjectaltname: 'DNS:collector.internal, URI:spiffe://acme.example/collector, URI:https://x' }))).toEqual({ name: 'spiffe://acme.example/collector', uri: true });
  expect(clientName(cert({ subjectaltname: 'DNS:collector.internal' }))).toEqual({ name: 'collector-1', uri: false });
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

it('regression L4: a URI names a client only from a URI SAN, matched case-sensitively; a CN in any case', () => {
  const rules = new ClientIdentities([
    { client: 'spiffe://acme.example/collector', identities: ['*'], peerGroups: ['support'] },
    { client: 'spiffe://acme.example/ns/*', identities: ['{client}'] },
    { client: 'host-*', identities: ['{client}'], peerGroups: ['hosts'] },
    { client: '*', identities: ['{client}'] },
  ]);
  const cn = (CN: string) => cert({ subject: { CN } as PeerCertificate['subject'] });
  // A CN equal to the Collector's SPIFFE ID, no URI SAN: not the Collector, nor itself under the catch-all.
  expect(() => rules.allowedFor(cn('spiffe://acme.example/collector'))).toThrow(/a CN with ':' names no client/);
  expect(() => rules.allowedFor(cn('spiffe://acme.example/ns/support/sa/agent-2'))).toThrow(/VIGIL_ERR_FORBIDDEN|may not send/);
  // A URI SAN differing only in case is another SPIFFE ID: the catch-all's, speaking for itself only.
  expect(rules.allowedFor(cert({ subjectaltname: 'URI:spiffe://acme.example/COLLECTOR' }))).toEqual({ name: 'spiffe://acme.example/COLLECTOR', identities: ['spiffe://acme.example/COLLECTOR'] });
  expect(rules.allowedFor(cert({ subjectaltname: 'URI:spiffe://acme.example/NS/support/sa/a' }))?.identities).toEqual(['spiffe://acme.example/NS/support/sa/a']);
  expect(rules.allowedFor(cert({ subjectaltname: 'URI:spiffe://acme.example/collector' }))).toMatchObject({ identities: ['*'], peerGroups: ['support'] });
  // CNs are host and service names: any case, as before.
  expect(rules.allowedFor(cn('HOST-1'))).toEqual({ name: 'HOST-1', identities: ['HOST-1'], peerGroups: ['hosts'] });
});
