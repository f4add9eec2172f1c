/**
 * Operators' mutes against a real daemon (review41 M5): `POST /v1/identities/{identity}/mute`,
 * `GET /v1/mutes`, `POST /v1/mutes/{id}/end`. A muted finding raises no alert (nothing stored, streamed
 * or sent), is counted on the mute and in /metrics, and is still not learned: once the mute ends, the same
 * behaviour raises again. The actions go through the daemon's own detection engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { get, startApiDaemon, storedSeqs, TEST_TOKEN, type ApiDaemon } from './helpers.js';

const A = 'spiffe://acme.example/agent/muted';
const B = 'spiffe://acme.example/agent/other';
const HOUR = 3_600_000;
let d: ApiDaemon;
let n = 0;

/** One tool call of `identity` (a peer group of its own: no rollout to wait for) at `time`. */
function call(identity: string, target: string, time: number): Action {
  const id = (++n).toString(16);
  return {
    time, endTime: time + 5, identity, peerGroup: identity, kind: 'tool', target, access: 'read', host: null, zone: null, sensitive: false,
    failed: false, retry: false, traceId: id.padStart(32, '0'), spanId: id.padStart(16, '0'), parentSpanId: '', credential: null, scopes: [], agent: null,
  };
}

const post = (p: string, body?: unknown) =>
  fetch(`${d.apiUrl}${p}`, { method: 'POST', headers: { Authorization: `Bearer ${TEST_TOKEN}`, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
/** Event time moves past any hold (a new item waits an hour for its peers to show a rollout). */
const settle = () => d.daemon.engine.process([call(A, 'crm.search', (now += 2 * HOUR)), call(B, 'crm.search', now)]);
const alertsOf = (identity: string) => (d.daemon.db.prepare('SELECT detector, subject FROM alerts WHERE identity = ? ORDER BY seq').all(identity) as Array<{ detector: string; subject: string }>);

/** Two days of the same tool, for two identities: judged against their own history from then on. */
let now = Date.now() - 48 * HOUR;
beforeAll(async () => {
  d = await startApiDaemon({}, { baselines: { minActions: 50, minAge: '24h' } });
  for (let i = 0; i < 96; i++, now += 30 * 60_000) d.daemon.engine.process([call(A, 'crm.search', now), call(B, 'crm.search', now)]);
});
afterAll(() => d?.close());

describe('a mute', () => {
  it('refuses what it cannot honour: 400 naming the field, 404 for an identity never seen', async () => {
    const mute = (body: unknown, identity = A) => post(`/v1/identities/${encodeURIComponent(identity)}/mute`, body).then(async (r) => [r.status, ((await r.json()) as { message: string }).message]);
    const ok = { detector: 'scope_drift', for: '1h', reason: 'ticket SEC-1' };
    expect(await mute({ ...ok, detector: 'everything' })).toEqual([400, 'detector: must be one of scope_drift, lateral_chaining, retry_storm, unexpected_write, telemetry_integrity']);
    expect(await mute({ ...ok, for: '8d' })).toEqual([400, 'for: must be a duration such as 30m, 4h or 2d, at most 7d (longer is an allow, or a change of config)']);
    expect(await mute({ ...ok, for: undefined })).toEqual([400, expect.stringMatching(/^for: /)]);
    expect(await mute({ ...ok, reason: ' ' })).toEqual([400, expect.stringMatching(/^reason: say why/)]);
    expect(await mute({ ...ok, subject: '' })).toEqual([400, expect.stringMatching(/^subject: /)]);
    expect(await mute({ ...ok, maxSeverity: 'severe' })).toEqual([400, 'maxSeverity: must be one of low, medium, high, critical (the most severe finding the mute swallows; high if left out)']);
    expect(await mute(ok, 'spiffe://acme.example/agent/never')).toEqual([404, 'unknown identity spiffe://acme.example/agent/never']);
    expect((await get(d.apiUrl, '/v1/mutes')).body).toEqual({ mutes: [], next: null });
  });

  it('swallows the identity’s findings of that detector and subject only, counts them, and does not let them be learned', async () => {
    const before = storedSeqs(d.daemon).length;
    const res = await post(`/v1/identities/${encodeURIComponent(A)}/mute`, { detector: 'scope_drift', subject: 'tool:vault.read', for: '2h', reason: 'SEC-2: vault migration today' });
    expect(res.status).toBe(201);
    const { mute } = (await res.json()) as { mute: { id: number; until: string; createdAt: string } };
    expect(Date.parse(mute.until) - Date.parse(mute.createdAt)).toBe(2 * HOUR);

    for (let i = 0; i < 3; i++) d.daemon.engine.process([call(A, 'vault.read', (now += 60_000))]);
    d.daemon.engine.process([call(A, 'hr.export', (now += 60_000)), call(B, 'vault.read', (now += 60_000))]);
    const lastMuted = now - 2 * 60_000;
    settle();
    // Another subject, and another identity: raised as ever.
    expect(alertsOf(A)).toEqual([{ detector: 'scope_drift', subject: 'tool:hr.export' }]);
    expect(alertsOf(B)).toEqual([{ detector: 'scope_drift', subject: 'tool:vault.read' }]);
    expect(storedSeqs(d.daemon).length).toBe(before + 2);

    const listed = (await get(d.apiUrl, `/v1/mutes?identity=${encodeURIComponent(A)}`)).body;
    expect(listed.mutes).toEqual([
      {
        id: mute.id, identity: A, detector: 'scope_drift', subject: 'tool:vault.read', maxSeverity: 'high', reason: 'SEC-2: vault migration today', by: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        createdAt: mute.createdAt, until: mute.until, endedAt: null, muted: 3, lastMutedAt: new Date(lastMuted).toISOString(),
      },
    ]);
    const metrics = await (await fetch(`${d.apiUrl}/metrics`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } })).text();
    expect(metrics).toContain('vigil_findings_muted_total{detector="scope_drift"} 3');

    // Ended: the same call raises, since nothing it did under the mute was learned.
    const ended = await post(`/v1/mutes/${mute.id}/end`);
    expect(ended.status).toBe(200);
    expect(((await ended.json()) as { mute: { endedAt: string | null } }).mute.endedAt).not.toBeNull();
    d.daemon.engine.process([call(A, 'vault.read', (now += 60_000))]);
    settle();
    expect(alertsOf(A)).toEqual([
      { detector: 'scope_drift', subject: 'tool:hr.export' },
      { detector: 'scope_drift', subject: 'tool:vault.read' },
    ]);
    expect((await get(d.apiUrl, '/v1/mutes')).body.mutes).toEqual([]); // in force only
    expect((await get(d.apiUrl, '/v1/mutes?all=true')).body.mutes).toEqual([expect.objectContaining({ id: mute.id, muted: 3, endedAt: expect.any(String) })]);
    expect((await post('/v1/mutes/999/end')).status).toBe(404);
    expect((await post('/v1/mutes/x/end')).status).toBe(400);
  });
});
