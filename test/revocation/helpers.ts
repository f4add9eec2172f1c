/**
 * In-process revocation tests: a daemon whose revocation engine's announcements are collected, and a way
 * to read the audit trail straight from SQLite.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { RevocationRecord } from '../../src/revocation/types.js';
import type { AttemptRow } from '../../src/revocation/store.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { BROKER_SECRET } from '../sinks/fixtures.js';
import { openedPerTest } from '../sinks/opened.js';
import type { Receiver } from '../sinks/receivers.js';

export const FAST = { retryInitial: '50ms', retryMax: '200ms', timeout: '2s' };

export interface RevocationDaemon extends TestDaemon {
  /** Every announcement, in order. */
  announced: RevocationRecord[];
  attempts(revocationId: string): AttemptRow[];
}

export async function startRevocationDaemon(revocation: Record<string, unknown>, extra: Record<string, unknown> = {}, dir?: string): Promise<RevocationDaemon> {
  const t = await startTestDaemon({ revocation, delivery: FAST, ...extra }, dir);
  const announced: RevocationRecord[] = [];
  t.daemon.revocations.subscribe((r) => announced.push(r));
  return Object.assign(t, { announced, attempts: (id: string) => t.daemon.revocations.store.attempts(id) });
}

/**
 * Starts brokers (real HTTP receivers) and revocation daemons that are closed after each test, newest
 * first. Call once, at the top of a test file.
 */
export function closedAfterEachTest() {
  const { receiver, closeAfter } = openedPerTest();
  return {
    broker: receiver,
    daemon: async (revocation: Record<string, unknown>, extra: Record<string, unknown> = {}, dir?: string) => closeAfter(await startRevocationDaemon(revocation, extra, dir)),
  };
}

/** A `webhook` broker calling `/revoke` on `r`. */
export const hookBroker = (r: Receiver, name = 'hook') => ({ name, type: 'webhook', url: r.url('/revoke'), secret: BROKER_SECRET });

/** Writes a fresh EC P-256 key as a PKCS#8 PEM file in `dir`; returns its path and public key. */
export function writeP256Key(dir: string, name = 'ssf.pem'): { file: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const file = path.join(dir, name);
  fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return { file, publicKey };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
