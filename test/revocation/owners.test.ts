/**
 * Who owns a credential (src/revocation/owners.ts): its first presenter. Its peer group's replicas may
 * present it without an alert, but only the owner's alerts revoke it; the binding is bounded without
 * letting one identity push out others'.
 */
import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { CredentialOwners, type Owner } from '../../src/revocation/owners.js';
import { action } from '../detectors/harness.js';

const presenting = (identity: string, peerGroup: string, id = 'tok-1'): Action => action({ identity, peerGroup, time: 0, credential: { id, type: null } });

describe('credential owners', () => {
  it("the first presenter owns it; a replica presents it without an alert, another group with one; its owner's new group is shared too", () => {
    const disputes: Array<[string, Owner]> = [];
    const owners = new CredentialOwners((a, owner) => disputes.push([a.identity, { ...owner }]));
    owners.note([presenting('billing-1', 'billing'), presenting('billing-2', 'billing'), presenting('thief', 'ops')]);
    expect(disputes).toEqual([['thief', { identity: 'billing-1', peerGroups: ['billing'] }]]);
    // The owner renamed its service (a new peer group): replicas of either group, renamed or not yet, raise nothing.
    owners.note([presenting('billing-1', 'payments'), presenting('billing-3', 'payments'), presenting('billing-2', 'billing')]);
    expect(disputes).toHaveLength(1);
    expect(owners.notOwnedBy('tok-1', 'billing-1')).toBeUndefined();
    expect(owners.notOwnedBy('tok-1', 'unknown-credential-holder')).toEqual({ identity: 'billing-1', peerGroups: ['billing', 'payments'] });
  });

  // Review25 F1: the peer group is the span's own claim, so a replica's alert must not revoke.
  it('only its owner may revoke it: not a replica, whose peer group is only claimed', () => {
    const owners = new CredentialOwners(() => {});
    owners.note([presenting('victim', 'payments-api'), presenting('evil', 'payments-api')]);
    expect(owners.notOwnedBy('tok-1', 'evil')).toEqual({ identity: 'victim', peerGroups: ['payments-api'] });
    expect(owners.notOwnedBy('tok-1', 'victim')).toBeUndefined();
  });

  // Review25 F2: 200,000 made-up ids from one identity pushed the victim's credential out; then it was the attacker's.
  it("one identity's flood of credential ids forgets its own oldest claims, never others'", () => {
    const disputes: string[] = [];
    const owners = new CredentialOwners((a) => disputes.push(a.identity));
    owners.note([presenting('victim', 'payments', 'VICTIM')]);
    for (let i = 0; i < 250_000; i += 1000) owners.note(Array.from({ length: 1000 }, (_, k) => presenting('evil', 'ops', `junk-${i + k}`)));
    owners.note([presenting('evil', 'ops', 'VICTIM')]);
    expect(disputes).toEqual(['evil']);
    expect(owners.notOwnedBy('VICTIM', 'evil')?.identity).toBe('victim');
    // It keeps its newest thousand; the first of its junk is forgotten.
    expect(owners.notOwnedBy('junk-249999', 'someone')?.identity).toBe('evil');
    expect(owners.notOwnedBy('junk-0', 'someone')).toBeUndefined();
  });

  it('past 200,000 credentials the least recently presented by its owner goes first', () => {
    const owners = new CredentialOwners(() => {});
    owners.note([presenting('old-but-busy', 'a', 'BUSY'), presenting('old-and-idle', 'a', 'IDLE')]);
    // 250 identities of 900 credentials each (under their own cap); the busy one presents its own now and then.
    for (let i = 0; i < 250; i++) {
      owners.note(Array.from({ length: 900 }, (_, k) => presenting(`pod-${i}`, 'pods', `c-${i}-${k}`)));
      owners.note([presenting('old-but-busy', 'a', 'BUSY')]);
    }
    expect(owners.notOwnedBy('BUSY', 'x')?.identity).toBe('old-but-busy');
    expect(owners.notOwnedBy('IDLE', 'x')).toBeUndefined();
    expect(owners.notOwnedBy('c-0-0', 'x')).toBeUndefined();
    expect(owners.notOwnedBy('c-249-899', 'x')?.identity).toBe('pod-249');
  });
});
