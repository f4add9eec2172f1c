/**
 * `receivers.otlp.clientIdentities`: which identities a client may send spans for. Vigil believes the
 * identity a span claims, and mutual TLS alone only decides who may connect: any client the CA signed
 * could still speak for any identity, teach its baseline or get its credential revoked. With rules,
 * a client is named by its certificate (its first URI SAN, a SPIFFE ID; else its subject CN), the first
 * rule whose `client` pattern matches it gives the identity patterns it may send (`{client}` standing
 * for its own name: an agent exporting with its SVID speaks for itself, a Collector for its fleet), and
 * spans of other identities are rejected (partial success, `identity_not_allowed`). A client that no
 * rule names is refused whole (403 / PERMISSION_DENIED).
 */
import type { PeerCertificate } from 'node:tls';
import { compileGlob, type Glob } from '../actions/glob.js';
import { VigilError } from '../errors.js';

export interface ClientRule {
  client: string;
  identities: string[];
}

/** A client as a rule named it: its name, and the identity patterns it may send spans for. */
export interface KnownClient {
  name: string;
  identities: string[];
}

/** The name of a client certificate: its first URI SAN (a SPIFFE ID), else its subject CN; null if none. */
export function clientName(cert: PeerCertificate | null | undefined): string | null {
  if (!cert || Object.keys(cert).length === 0) return null; // Node gives {} when the peer sent none
  const uri = /(?:^|,\s*)URI:([^,]+)/.exec(cert.subjectaltname ?? '')?.[1];
  const cn = cert.subject?.CN;
  return uri ?? (typeof cn === 'string' && cn !== '' ? cn : null);
}

export class ClientIdentities {
  private readonly rules: Array<{ client: Glob; identities: string[] }>;

  constructor(rules: readonly ClientRule[] | undefined) {
    this.rules = (rules ?? []).map((r) => ({ client: compileGlob(r.client), identities: r.identities }));
  }

  /** Rules are configured: each export's client must be looked up. */
  get enabled(): boolean {
    return this.rules.length > 0;
  }

  /**
   * `cert`'s client and the identity patterns it may send spans for, or null when no rules are configured
   * (any identity). Throws VIGIL_ERR_FORBIDDEN when no rule names the client.
   */
  allowedFor(cert: PeerCertificate | null | undefined): KnownClient | null {
    if (this.rules.length === 0) return null;
    const name = clientName(cert);
    // A `*` in a name would widen the patterns `{client}` is replaced by; no CA should issue one.
    const rule = name === null || name.includes('*') ? undefined : this.rules.find((r) => r.client.test(name.toLowerCase()));
    if (!rule) throw new VigilError('VIGIL_ERR_FORBIDDEN', name === null ? 'no client certificate' : `client ${name}`);
    return { name: name!, identities: rule.identities.map((p) => p.replaceAll('{client}', name!)) };
  }
}
