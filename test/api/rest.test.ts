/**
 * `GET /v1/alerts` and `GET /v1/revocations` (CONTRACT §2) against a real daemon: paging with
 * `since` / `limit` / `next`, the 1000 cap, filters, refused parameters, auth, and alerts that match the
 * normative schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, raise, startApiDaemon, startRevokingApiDaemon, storedSeqs, waitFor, type ApiDaemon, type RevokingApiDaemon } from './helpers.js';
import type { Action } from '../../src/actions/types.js';
import { validateAlert } from '../helpers/alert-schema.js';


const A = 'spiffe://acme.example/agent/a';
const B = 'spiffe://acme.example/agent/b';

let d: ApiDaemon;
beforeAll(async () => {
  d = await startApiDaemon();
  for (let i = 0; i < 1205; i++) {
    raise(d.daemon, {
      identity: i % 5 === 0 ? B : A,
      detector: i % 3 === 0 ? 'retry_storm' : 'scope_drift',
      severity: (['low', 'medium', 'high', 'critical'] as const)[i % 4],
    });
  }
});
afterAll(() => d?.close());

describe('GET /v1/alerts', () => {
  it('returns the first 100 by default, ascending, with next = the last seq returned', async () => {
    const { status, body } = await get(d.apiUrl, '/v1/alerts');
    expect(status).toBe(200);
    const seqs = body.alerts.map((a: { seq: number }) => a.seq);
    expect(seqs).toEqual(storedSeqs(d.daemon).slice(0, 100));
    expect(body.next).toBe(seqs[99]);
    for (const a of body.alerts) expect(validateAlert(a), JSON.stringify(validateAlert.errors)).toBe(true);
  });

  it('GET /v1/alerts/{id}: one alert as it stands now; 404 for an id never raised (review41 M3)', async () => {
    const { body: page } = await get(d.apiUrl, '/v1/alerts?limit=3');
    const { status, body } = await get(d.apiUrl, `/v1/alerts/${page.alerts[2].id}`);
    expect(status).toBe(200);
    expect(body).toEqual(page.alerts[2]);
    expect(validateAlert(body)).toBe(true);
    const missing = await get(d.apiUrl, '/v1/alerts/al_000000000000000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'VIGIL_ERR_NOT_FOUND', message: 'unknown alert al_000000000000000000000000 (never raised, or deleted by alerts.retention)' });
    expect((await get(d.apiUrl, '/v1/alerts/stream')).status).toBe(426); // the websocket's own path
  });

  it('pages every stored alert exactly once by passing next as since', async () => {
    const seen: number[] = [];
    let since = 0;
    for (;;) {
      const { body } = await get(d.apiUrl, `/v1/alerts?since=${since}&limit=500`);
      if (body.alerts.length === 0) {
        expect(body.next).toBe(since); // an empty page leaves the cursor where it was
        break;
      }
      seen.push(...body.alerts.map((a: { seq: number }) => a.seq));
      since = body.next;
    }
    expect(seen).toEqual(storedSeqs(d.daemon));
    expect(seen).toHaveLength(1205);
  });

  it.each([
    ['5000', '5000'],
    ['of 20 digits', '99999999999999999999'],
    ['of 401 digits', '1' + '0'.repeat(400)],
  ])('caps a limit %s at 1000 (CONTRACT §2: capped, not refused)', async (_what, limit) => {
    const { status, body } = await get(d.apiUrl, `/v1/alerts?limit=${limit}`);
    expect(status).toBe(200);
    expect(body.alerts).toHaveLength(1000);
    expect(body.next).toBe(storedSeqs(d.daemon)[999]);
  });

  it('applies since and limit together', async () => {
    const all = storedSeqs(d.daemon);
    const { body } = await get(d.apiUrl, `/v1/alerts?since=${all[10]}&limit=3`);
    expect(body.alerts.map((a: { seq: number }) => a.seq)).toEqual(all.slice(11, 14));
    expect(body.next).toBe(all[13]);
  });

  it('filters by identity, detector and minimum severity (inclusive), in SQL before the limit', async () => {
    const { body } = await get(d.apiUrl, `/v1/alerts?identity=${encodeURIComponent(B)}&detector=retry_storm&minSeverity=high&limit=1000`);
    const expected = d.daemon.db
      .prepare("SELECT seq FROM alerts WHERE identity = ? AND detector = 'retry_storm' AND severity IN ('high', 'critical') ORDER BY seq")
      .pluck()
      .all(B);
    expect(expected.length).toBeGreaterThan(10);
    expect(body.alerts.map((a: { seq: number }) => a.seq)).toEqual(expected);
    for (const a of body.alerts) expect(a).toMatchObject({ identity: B, detector: 'retry_storm' });
    // Repeating a filter matches any of its values.
    const both = await get(d.apiUrl, `/v1/alerts?identity=${encodeURIComponent(A)}&identity=${encodeURIComponent(B)}&limit=1000`);
    expect(both.body.alerts).toHaveLength(1000);
  });

  it.each([
    ['since=abc', 'since'],
    ['since=-1', 'since'],
    ['since=1.5', 'since'],
    ['since=', 'since'],
    ['limit=0', 'limit'],
    ['limit=ten', 'limit'],
    ['limit=-5', 'limit'],
    ['limit=1e3', 'limit'],
    ['limit=-99999999999999999999', 'limit'],
    ['minSeverity=urgent', 'minSeverity'],
    ['detector=scope-drift', 'detector: "scope-drift" is none of scope_drift, '],
    ['detector=retry_storm&detector=nope', 'detector: "nope"'],
    ['minseverity=high', 'unknown query parameter "minseverity"'],
    ['identity=', 'identity'],
    ['since=1&since=2', 'since'],
  ])('refuses %s with 400 naming the parameter', async (query, named) => {
    const { status, body } = await get(d.apiUrl, `/v1/alerts?${query}`);
    expect(status).toBe(400);
    expect(body.error).toBe('VIGIL_ERR_BAD_REQUEST');
    expect(body.message).toContain(named);
  });

  it('refuses a since beyond the newest seq with 400 naming it: an empty page forever would hide every alert up to it', async () => {
    const newest = storedSeqs(d.daemon).at(-1)!;
    const ahead = await get(d.apiUrl, `/v1/alerts?since=${newest + 1000}`);
    expect(ahead.status).toBe(400);
    expect(ahead.body).toMatchObject({ error: 'VIGIL_ERR_BAD_REQUEST', message: expect.stringContaining(`newest alert is seq ${newest}`) });
    expect(await get(d.apiUrl, `/v1/alerts?since=${newest}`)).toEqual({ status: 200, body: { alerts: [], next: newest } });
  });

  it('needs the token', async () => {
    expect((await get(d.apiUrl, '/v1/alerts', null)).status).toBe(401);
    expect((await get(d.apiUrl, '/v1/alerts', 'wrong-token-0123456789')).status).toBe(401);
    expect((await get(d.apiUrl, '/v1/revocations', null)).status).toBe(401);
  });
});

describe('GET /v1/revocations', () => {
  // Its own daemon, with the real revocation engine revoking through a real local broker.
  let r: RevokingApiDaemon;
  beforeAll(async () => {
    r = await startRevokingApiDaemon();
  });
  afterAll(() => r?.close());

  it('lists every revocation once, in its current state, as the engine last announced it', async () => {
    expect(await get(r.apiUrl, '/v1/revocations')).toEqual({ status: 200, body: { revocations: [] } });
    const credential = { id: 'jti-a1', type: 'oauth_jti' };
    raise(r.daemon, { identity: A, detector: 'unexpected_write', severity: 'critical', credential }); // broker: 503, then 200
    raise(r.daemon, { identity: B, detector: 'unexpected_write', severity: 'high' }); // no credential: not_revocable
    raise(r.daemon, { identity: B, detector: 'scope_drift', severity: 'critical', credential: { id: 'jti-b1', type: 'oauth_jti' } }); // no rule
    await waitFor(() => r.announced.some((x) => x.status === 'succeeded'), 'the broker to revoke');
    raise(r.daemon, { identity: A, detector: 'unexpected_write', severity: 'high', credential }); // same credential: same revocation

    const { status, body } = await get(r.apiUrl, '/v1/revocations');
    expect(status).toBe(200);
    // Every state change was announced, and the list holds each revocation once, in its latest state.
    expect(r.announced.filter((x) => x.identity === A).map((x) => [x.status, x.attempts])).toEqual([['pending', 0], ['pending', 1], ['succeeded', 2]]);
    const latest = new Map(r.announced.map((x) => [x.revocationId, x]));
    expect(body.revocations).toEqual([...latest.values()]);
    expect(body.revocations).toEqual(r.daemon.revocations.list());
    expect(body.revocations.map((x: Record<string, unknown>) => [x.identity, x.credentialId, x.status, x.attempts])).toEqual([
      [A, 'jti-a1', 'succeeded', 2],
      [B, null, 'not_revocable', 0],
    ]);
    // Both alerts on the credential point at the one revocation listed.
    const alerts = (await get(r.apiUrl, '/v1/alerts')).body.alerts as Array<{ identity: string; response?: { revocationId: string } }>;
    const revoked = alerts.filter((a) => a.identity === A).map((a) => a.response?.revocationId);
    expect(revoked).toEqual([body.revocations[0].revocationId, body.revocations[0].revocationId]);
  });

  it('pages in creation order with since/limit, as /v1/alerts does; without them lists every record', async () => {
    for (let i = 0; i < 5; i++) raise(r.daemon, { identity: B, detector: 'unexpected_write', severity: 'high' }); // not_revocable each
    const all = (await get(r.apiUrl, '/v1/revocations')).body.revocations as Array<{ revocationId: string }>;
    const paged: string[] = [];
    let since = 0;
    const sizes: number[] = [];
    for (;;) {
      const { status, body } = await get(r.apiUrl, `/v1/revocations?since=${since}&limit=3`);
      expect(status).toBe(200);
      sizes.push(body.revocations.length);
      if (body.revocations.length === 0) {
        expect(body.next).toBe(since); // an empty page leaves the cursor where it was
        break;
      }
      paged.push(...body.revocations.map((x: { revocationId: string }) => x.revocationId));
      since = body.next;
    }
    expect(all.length).toBeGreaterThanOrEqual(5);
    expect(paged).toEqual(all.map((x) => x.revocationId));
    expect(Math.max(...sizes)).toBe(3); // full pages of `limit`, then the rest
    // A cursor this store never gave is refused, as on /v1/alerts, rather than answered with an empty page.
    const newest = r.daemon.revocations.newest();
    const ahead = await get(r.apiUrl, `/v1/revocations?since=${newest + 1}`);
    expect(ahead).toMatchObject({ status: 400, body: { error: 'VIGIL_ERR_BAD_REQUEST', message: expect.stringContaining(`newest revocation is at ${newest}`) } });
    expect((await get(r.apiUrl, `/v1/revocations?since=${newest}`)).body).toEqual({ revocations: [], next: newest });
    expect((await get(r.apiUrl, '/v1/revocations?limit=0')).status).toBe(400);
    expect((await get(r.apiUrl, '/v1/revocations?state=failed')).status).toBe(400); // unknown: refused, as on /v1/alerts
  });

  // Review21 L7: finding the pending (credentials still valid) or one agent's meant paging every record.
  it('filters pages by status and by identity', async () => {
    const page = async (q: string) => (await get(r.apiUrl, `/v1/revocations?${q}`)).body.revocations as Array<{ identity: string; status: string }>;
    const all = await page('since=0&limit=1000');
    const of = (f: (x: { identity: string; status: string }) => boolean) => all.filter(f);
    expect((await page('status=not_revocable')).length).toBe(of((x) => x.status === 'not_revocable').length);
    expect(await page('status=succeeded')).toEqual(of((x) => x.status === 'succeeded'));
    expect(await page(`identity=${encodeURIComponent(A)}`)).toEqual(of((x) => x.identity === A));
    expect(await page(`identity=${encodeURIComponent(B)}&status=succeeded`)).toEqual([]);
    for (const q of ['status=revoked', 'status=', 'identity=a&identity=b']) expect((await get(r.apiUrl, `/v1/revocations?${q}`)).status, q).toBe(400);
  });
});

// Review21 L7: there was no way to list the identities Vigil knows.
describe('GET /v1/identities', () => {
  it('lists identities in order, a page at a time, of one peer group when asked', async () => {
    const i = await startApiDaemon();
    try {
      const names = ['spiffe://t/c', 'spiffe://t/a', 'spiffe://t/b'];
      const time = Date.now();
      const act = (n: number, identity: string, over: Partial<Action> = {}) => i.daemon.identities.record({
        time: time + n, endTime: time + n, identity, peerGroup: n === 0 ? 'ops' : 'support', kind: 'tool', target: 'x', access: 'read', host: null, zone: null,
        sensitive: false, failed: false, retry: false, traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: '', credential: null, scopes: [], agent: null, ...over,
      });
      for (const [n, identity] of names.entries()) act(n, identity);
      act(1, 'spiffe://t/a', { kind: 'http', failed: true, retry: true }); // review30 H2: counted and stored, and now shown
      i.daemon.db.transaction(() => i.daemon.identities.flush())();
      const first = await get(i.apiUrl, '/v1/identities?limit=2');
      expect(first.body.identities.map((x: { identity: string }) => x.identity)).toEqual(['spiffe://t/a', 'spiffe://t/b']);
      expect(first.body.identities[0]).toEqual({
        identity: 'spiffe://t/a', peerGroup: 'support', firstSeen: new Date(time + 1).toISOString(), lastSeen: new Date(time + 1).toISOString(),
        actions: 2, failures: 1, retries: 1, actionsByKind: { tool: 1, http: 1 },
        phase: 'learning', // no baseline yet (these records were written without one)
        baselineSince: null, // never reset
      });
      const second = await get(i.apiUrl, `/v1/identities?limit=2&after=${encodeURIComponent(first.body.next)}`);
      expect(second.body).toMatchObject({ identities: [{ identity: 'spiffe://t/c', peerGroup: 'ops' }], next: null });
      expect((await get(i.apiUrl, '/v1/identities?peerGroup=ops')).body.identities.map((x: { identity: string }) => x.identity)).toEqual(['spiffe://t/c']);
      for (const q of ['limit=0', 'page=2', 'after=a&after=b']) expect((await get(i.apiUrl, `/v1/identities?${q}`)).status, q).toBe(400);
      expect((await get(i.apiUrl, '/v1/identities', null)).status).toBe(401);
    } finally {
      await i.close();
    }
  });
});
