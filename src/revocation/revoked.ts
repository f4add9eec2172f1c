/**
 * Credentials a broker confirmed revoked, and when. A span presenting one later means the revocation did
 * not take — a broker that acknowledged and did nothing, a token a gateway still accepts from its cache —
 * or that the spans are replayed; either way the SOC must hear of it (review21 L6): a `telemetry_integrity`
 * alert for the presenter. In memory, loaded from the store at start, the most recent MAX_REVOKED kept.
 */
import type { Action } from '../actions/types.js';
import type { RevocationRecord } from './types.js';
import { Lru } from '../collections/lru.js';

export const MAX_REVOKED = 100_000;
/**
 * Uses within this long after the revocation are not news: calls in flight as it took effect, and the
 * difference between the agent's clock (its span times) and Vigil's (the revocation's).
 */
export const REVOKED_GRACE_MS = 60_000;

export class RevokedCredentials {
  /** Newest last: the oldest revocations go first past the bound. */
  private readonly revokedAt = new Lru<number>(MAX_REVOKED);

  /**
   * @param revoked credential ids with the time their revocation succeeded, oldest first (from the store).
   * @param onUse called for an action presenting a credential after its revocation (and the grace).
   */
  constructor(revoked: Iterable<[string, number]>, private readonly onUse: (action: Action, revokedAt: number) => void) {
    for (const [id, at] of revoked) this.add(id, at);
  }

  /** A revocation's new state (RevocationEngine.subscribe): a success is remembered. */
  noteRevocation(r: RevocationRecord): void {
    if (r.status === 'succeeded' && r.credentialId !== null) this.add(r.credentialId, Date.parse(r.at));
  }

  /** Checks the credentials of actions (a pipeline sink). */
  note(actions: readonly Action[]): void {
    if (this.revokedAt.size === 0) return;
    for (const a of actions) {
      const id = a.credential?.id;
      if (id === undefined) continue;
      const at = this.revokedAt.get(id);
      if (at !== undefined && a.time > at + REVOKED_GRACE_MS) this.onUse(a, at);
    }
  }

  private add(id: string, at: number): void {
    this.revokedAt.set(id, at);
  }
}
