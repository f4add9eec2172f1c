/**
 * Real receivers and daemons a delivery test opens, closed after each test (newest first), with retries
 * kept short through `delivery.retryInitial/retryMax`.
 */
import { afterEach } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { Receiver } from './receivers.js';

export const FAST_DELIVERY = { retryInitial: '50ms', retryMax: '200ms', timeout: '2s' };

/** Call at a test file's top level: registers the closing `afterEach`. */
export function openedPerTest() {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });
  return {
    /** Closes `o` after the test too. */
    closeAfter<T extends { close(): Promise<void> }>(o: T): T {
      open.push(o);
      return o;
    },
    async receiver(...args: Parameters<typeof Receiver.start>): Promise<Receiver> {
      const r = await Receiver.start(...args);
      open.push(r);
      return r;
    },
    async daemon(webhooks: unknown[], extra: Record<string, unknown> = {}, dir?: string): Promise<TestDaemon> {
      const t = await startTestDaemon({ webhooks, delivery: FAST_DELIVERY, ...extra }, dir);
      open.push(t);
      return t;
    },
  };
}
