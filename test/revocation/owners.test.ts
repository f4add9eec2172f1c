/**
 * Who owns a credential (src/revocation/owners.ts): its first presenter. Its peer group's replicas may
 * present it without an alert, but only the owner's alerts revoke it; the binding is bounded without
 * letting one identity push out others'.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { CredentialOwners, type Owner } from '../../src/revocation/owners.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { action } from '../detectors/harness.js';

const opened: Db[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});
/** A real SQLite file in a fresh folder. */
function database(file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-owners-')), 'vigil.db')): Db {
  const db = openDatabase(file);
  opened.push(db);
  return db;
}
/** Writes what changed, as the group commit does. */
function commit(db: Db, owners: CredentialOwners): void {
  db.transaction(() => owners.commit())();
  owners.afterCommit(true);
}

const presenting = (identity: string, peerGroup: string, id = 'tok-1'): Action => action({ identity, peerGroup, time: 0, credential: { id, type: null } });

describe('credential owners', () => {
  it("the first presenter owns it; a replica presents it without an alert, another group with one; its owner's new group is shared too", () => {
    const disputes: Array<[string, Owner]> = [];
    const owners = new CredentialOwners(database(), (a, owner) => disputes.push([a.identity, { ...owner }]));
    owners.process([presenting('billing-1', 'billing'), presenting('billing-2', 'billing'), presenting('thief', 'ops')]);
    expect(disputes).toEqual([['thief', { identity: 'billing-1', peerGroups: ['billing'] }]]);
    // The owner renamed its service (a new peer group): replicas of either group, renamed or not yet, raise nothing.
    owners.process([presenting('billing-1', 'payments'), presenting('billing-3', 'payments'), presenting('billing-2', 'billing')]);
    expect(disputes).toHaveLength(1);
    expect(owners.notOwnedBy('tok-1', 'billing-1')).toBeUndefined();
    expect(owners.notOwnedBy('tok-1', 'unknown-credential-holder')).toEqual({ identity: 'billing-1', peerGroups: ['billing', 'payments'] });
  });

  // Review25 F1: the peer group is the span's own claim, so a replica's alert must not revoke.
  it('only its owner may revoke it: not a replica, whose peer group is only claimed', () => {
    const owners = new CredentialOwners(database(), () => {});
    owners.process([presenting('victim', 'payments-api'), presenting('evil', 'payments-api')]);
    expect(owners.notOwnedBy('tok-1', 'evil')).toEqual({ identity: 'victim', peerGroups: ['payments-api'] });
    expect(owners.notOwnedBy('tok-1', 'victim')).toBeUndefined();
  });

  // Review25 F2: 200,000 made-up ids from one identity pushed the victim's credential out; then it was the attacker's.
  it("one identity's flood of credential ids forgets its own oldest claims, never others'", () => {
    const disputes: string[] = [];
    const owners = new CredentialOwners(database(), (a) => disputes.push(a.identity));
    owners.process([presenting('victim', 'payments', 'VICTIM')]);
    for (let i = 0; i < 250_000; i += 1000) owners.process(Array.from({ length: 1000 }, (_, k) => presenting('evil', 'ops', `junk-${i + k}`)));
    owners.process([presenting('evil', 'ops', 'VICTIM')]);
    expect(disputes).toEqual(['evil']);
    expect(owners.notOwnedBy('VICTIM', 'evil')?.identity).toBe('victim');
    // It keeps its newest thousand; the first of its junk is forgotten.
    expect(owners.notOwnedBy('junk-249999', 'someone')?.identity).toBe('evil');
    expect(owners.notOwnedBy('junk-0', 'someone')).toBeUndefined();
  });

  it('past 200,000 credentials the least recently presented by its owner goes first', () => {
    const owners = new CredentialOwners(database(), () => {});
    owners.process([presenting('old-but-busy', 'a', 'BUSY'), presenting('old-and-idle', 'a', 'IDLE')]);
    // 250 identities of 900 credentials each (under their own cap); the busy one presents its own now and then.
    for (let i = 0; i < 250; i++) {
      owners.process(Array.from({ length: 900 }, (_, k) => presenting(`pod-${i}`, 'pods', `c-${i}-${k}`)));
      owners.process([presenting('old-but-busy', 'a', 'BUSY')]);
    }
    expect(owners.notOwnedBy('BUSY', 'x')?.identity).toBe('old-but-busy');
    expect(owners.notOwnedBy('IDLE', 'x')).toBeUndefined();
    expect(owners.notOwnedBy('c-0-0', 'x')).toBeUndefined();
    expect(owners.notOwnedBy('c-249-899', 'x')?.identity).toBe('pod-249');
  });

  it('survives a restart: the next to name a credential after it is not its owner; forgotten ones stay forgotten', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-owners-')), 'vigil.db');
    let clock = 1_000;
    const before = new CredentialOwners(database(file), () => {}, () => clock);
    before.process([presenting('victim', 'payments', 'VICTIM'), presenting('victim', 'payments-v2', 'VICTIM')]);
    for (let i = 0; i < 1001; i++) before.process([presenting('evil', 'ops', `junk-${i}`)]); // junk-0 goes past the cap
    commit(opened[0], before);
    opened.splice(0).forEach((db) => db.close());

    const disputes: string[] = [];
    clock += 1_000;
    const after = new CredentialOwners(database(file), (a) => disputes.push(a.identity), () => clock);
    after.process([presenting('evil', 'ops', 'VICTIM')]);
    expect(disputes).toEqual(['evil']);
    expect(after.notOwnedBy('VICTIM', 'evil')).toEqual({ identity: 'victim', peerGroups: ['payments', 'payments-v2'] });
    expect(after.notOwnedBy('junk-1000', 'x')?.identity).toBe('evil');
    expect(after.notOwnedBy('junk-0', 'x')).toBeUndefined();
    expect(opened[0].prepare('SELECT count(*) FROM credential_owners').pluck().get()).toBe(1001);
    // Its claims keep their order: the next claim past the cap forgets junk-1, the oldest left.
    after.process([presenting('evil', 'ops', 'junk-new')]);
    expect([after.notOwnedBy('junk-1', 'x'), after.notOwnedBy('junk-2', 'x')?.identity]).toEqual([undefined, 'evil']);
  });

  it('a failed commit keeps what changed for the next one', () => {
    const db = database();
    const owners = new CredentialOwners(db, () => {});
    owners.process([presenting('victim', 'payments', 'VICTIM')]);
    owners.afterCommit(false); // the transaction rolled back: nothing was written
    commit(db, owners);
    expect(db.prepare('SELECT credential, identity, peer_groups FROM credential_owners').all()).toEqual([{ credential: 'VICTIM', identity: 'victim', peer_groups: '["payments"]' }]);
  });
});
