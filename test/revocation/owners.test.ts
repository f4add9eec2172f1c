/** Who owns a credential (src/revocation/owners.ts): the first peer group to present it; its replicas share it. */
import { expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { CredentialOwners, type Owner } from '../../src/revocation/owners.js';
import { action } from '../detectors/harness.js';

const presenting = (identity: string, peerGroup: string): Action => action({ identity, peerGroup, time: 0, credential: { id: 'tok-1', type: null } });

it("the first presenter owns it; a replica shares it, another group disputes it; its owner's new group shares it too", () => {
  const disputes: Array<[string, Owner]> = [];
  const owners = new CredentialOwners((a, owner) => disputes.push([a.identity, { ...owner }]));
  owners.note([presenting('billing-1', 'billing'), presenting('billing-2', 'billing'), presenting('thief', 'ops')]);
  expect(disputes).toEqual([['thief', { identity: 'billing-1', peerGroups: ['billing'] }]]);
  expect(owners.disputed('tok-1', { identity: 'thief', peerGroup: 'ops' })).toEqual({ identity: 'billing-1', peerGroups: ['billing'] });
  expect(owners.disputed('tok-1', { identity: 'billing-2', peerGroup: 'billing' })).toBeUndefined();
  // The owner renamed its service (a new peer group): still its own credential, and replicas of either group,
  // renamed or not yet, share it while the rename rolls out.
  owners.note([presenting('billing-1', 'payments'), presenting('billing-3', 'payments'), presenting('billing-2', 'billing')]);
  expect(disputes).toHaveLength(1);
  expect(owners.disputed('tok-1', { identity: 'billing-3', peerGroup: 'payments' })).toBeUndefined();
  expect(owners.disputed('tok-1', { identity: 'thief', peerGroup: 'ops' })).toEqual({ identity: 'billing-1', peerGroups: ['billing', 'payments'] });
});
