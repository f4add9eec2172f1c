/**
 * `receivers.otlp.clientIdentities`: which identities a client may send spans for. Vigil believes the
 * identity a span claims, and mutual TLS alone only decides who may connect: any client the CA signed
 * could still speak for any identity, teach its baseline or get its credential revoked. With rules,
 * a client is named by its certificate (its first URI SAN, a SPIFFE ID; else its subject CN), the first
 * rule whose `client` pattern matches it (a URI case-sensitively, as SPIFFE IDs are compared; a CN, a
 * host or service name, in any case) gives the identity patterns it may send (`{client}` standing
 * for its own name: an agent exporting with its SVID speaks for itself, a Collector for its fleet), and
 * spans of other identities are rejected (partial success, `identity_not_allowed`). A client that no
 * rule names is refused whole (403 / PERMISSION_DENIED).
 *
 * A rule may also list `peerGroups`, the peer groups its client's spans may claim (the group as
 * `identity.peerGroup` derives it, actions/identity.ts; `{client}` likewise). Without it a client
 * pinned to its own identity could still claim any group (`service.name`) and so share that group's
 * credentials without alarm (revocation/owners.ts), be judged against its baseline and teach it
 * (red-team I4); spans claiming another group are rejected (`peer_group_not_allowed`).
 *
 * A URI names a client only from a URI SAN: a CN holding a `:` (`spiffe://acme.example/collector`) names
 * none, and its client is refused. Otherwise a certificate whose CN the requester may choose, from a CA
 * that restricts only URI SANs, was the Collector and got its rule; and a URI SAN differing from a rule's
 * SPIFFE ID only in case (`…/COLLECTOR`) matched it (review33 L4).
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

/** A client certificate's name: its first URI SAN (`uri`), else its subject CN. */
export interface ClientName {
  name: string;
  uri: boolean;
}

/** The name of a client certificate: its first URI SAN (a SPIFFE ID), else its subject CN; null if none. */
export function clientName(cert: PeerCertificate | null | undefined): ClientName | null {
  if (!cert || Object.keys(cert).length === 0) return null; // Node gives {} when the peer sent none
  const uri = /(?:^|,\s*)URI:([^,]+)/.exec(cert.subjectaltname ?? '')?.[1];
  if (uri !== undefined) return { name: uri, uri: true };
  const cn = cert.subject?.CN;
  return typeof cn === 'string' && cn !== '' ? { name: cn, uri: false } : null;
}

export class ClientIdentities {
  /** Each rule's `client` pattern twice: for CNs (any case) and for URI SANs (case-sensitive). */
  private readonly rules: Array<Omit<ClientRule, 'client'> & { cn: Glob; uri: Glob }>;

  constructor(rules: readonly ClientRule[] | undefined) {
    this.rules = (rules ?? []).map(({ client, ...r }) => ({ ...r, cn: compileGlob(client), uri: compileGlob(client, { caseSensitive: true }) }));
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
    const client = clientName(cert);
    if (client === null) throw new VigilError('VIGIL_ERR_FORBIDDEN', 'no client certificate');
    const { name, uri } = client;
    // A `*` in a name would widen the patterns `{client}` is replaced by; no CA should issue one. A CN
    // holding a `:` would pose as a URI (a SPIFFE ID), which only a URI SAN may carry.
    if (name.includes('*')) throw new VigilError('VIGIL_ERR_FORBIDDEN', `client ${name}`);
    if (!uri && name.includes(':')) throw new VigilError('VIGIL_ERR_FORBIDDEN', `client ${name}: a CN with ':' names no client (a URI such as a SPIFFE ID must be a URI SAN)`);
    const rule = this.rules.find((r) => (uri ? r.uri.test(name) : r.cn.test(name.toLowerCase())));
    if (!rule) throw new VigilError('VIGIL_ERR_FORBIDDEN', `client ${name}`);
    const own = (patterns: string[]) => patterns.map((p) => p.replaceAll('{client}', name));
    return { name, identities: own(rule.identities), ...(rule.peerGroups && { peerGroups: own(rule.peerGroups) }) };
  }
}
