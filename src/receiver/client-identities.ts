/**
 * `receivers.otlp.clientIdentities`: which identities a client may send spans for. Vigil believes the
 * identity a span claims, and mutual TLS alone only decides who may connect: any client the CA signed
 * could still speak for any identity, teach its baseline or get its credential revoked. With rules,
 * a client is named by its certificate (its first URI SAN, a SPIFFE ID; else its subject CN), the first
 * rule whose `client` pattern matches it gives the identity patterns it may send (`{client}` standing
 * for its own name: an agent exporting with its SVID speaks for itself, a Collector for its fleet), and
 * spans of other identities are rejected (partial success, `identity_not_allowed`). A client that no
 * rule names is refused whole (403 / PERMISSION_DENIED).
 *
 * A rule may also list `peerGroups`, the peer groups its client's spans may claim (the group as
 * `identity.peerGroup` derives it, actions/identity.ts; `{client}` likewise). Without it a client
 * pinned to its own identity could still claim any group (`service.name`) and so share that group's
 * credentials without alarm (revocation/owners.ts), be judged against its baseline and teach it
 * (red-team I4); spans claiming another group are rejected (`peer_group_not_allowed`).
 */
import type { PeerCertificate } from 'node:tls';
import { compileGlob, type Glob } from '../actions/glob.js';
import { VigilError } from '../errors.js';

export interface ClientRule {
  client: string;
  identities: string[];
  peerGroups?: string[];
}

/** A client as a rule named it: its name, the identity patterns it may send spans for, the peer-group patterns they may claim. */
export interface KnownClient {
  name: string;
  identities: string[];
  /** Absent: its rule lists none, any peer group. */
  peerGroups?: string[];
}

/** The name of a client certificate: its first URI SAN (a SPIFFE ID), else its subject CN; null if none. */
export function clientName(cert: PeerCertificate | null | undefined): string | null {
  if (!cert || Object.keys(cert).length === 0) return null; // Node gives {} when the peer sent none
  const uri = /(?:^|,\s*)URI:([^,]+)/.exec(cert.subjectaltname ?? '')?.[1];
  const cn = cert.subject?.CN;
  return uri ?? (typeof cn === 'string' && cn !== '' ? cn : null);
}

export class ClientIdentities {
  private readonly rules: Array<Omit<ClientRule, 'client'> & { client: Glob }>;

  constructor(rules: readonly ClientRule[] | undefined) {
    this.rules = (rules ?? []).map((r) => ({ ...r, client: compileGlob(r.client) }));
  }

  /** Rules are configured: each export's client must be looked up. */
  get enabled(): boolean {
    return this.rules.length > 0;
  }

  /**
   * `cert`'s client, the identity patterns it may send spans for and the peer-group patterns they may
   * claim, or null when no rules are configured (any identity). Throws VIGIL_ERR_FORBIDDEN when no rule
   * names the client.
   */
  allowedFor(cert: PeerCertificate | null | undefined): KnownClient | null {
    if (this.rules.length === 0) return null;
    const name = clientName(cert);
    // A `*` in a name would widen the patterns `{client}` is replaced by; no CA should issue one.
    const rule = name === null || name.includes('*') ? undefined : this.rules.find((r) => r.client.test(name.toLowerCase()));
    if (!rule) throw new VigilError('VIGIL_ERR_FORBIDDEN', name === null ? 'no client certificate' : `client ${name}`);
    const own = (patterns: string[]) => patterns.map((p) => p.replaceAll('{client}', name!));
    return { name: name!, identities: own(rule.identities), ...(rule.peerGroups && { peerGroups: own(rule.peerGroups) }) };
  }
}
