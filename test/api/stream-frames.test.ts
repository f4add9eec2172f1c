/**
 * The alert websocket's frames (CONTRACT §2): filters on alert, update and revocation frames; update
 * frames rate-limited per alert with the final count never lost; revocation frames from the daemon's
 * real revocation engine (calling a real local broker); heartbeats carrying the newest stored seq.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, get, raise, startRevokingApiDaemon, storedSeqs, waitFor, type RevokingApiDaemon } from './helpers.js';

const X = 'spiffe://acme.example/agent/x';
const Y = 'spiffe://acme.example/agent/y';
const UPDATE_MS = 300;

// Only unexpected_write alerts of high severity or above revoke (see startRevokingApiDaemon); the alerts
// the other tests raise (scope_drift, retry_storm) revoke nothing.
let d: RevokingApiDaemon;
beforeAll(async () => {
  d = await startRevokingApiDaemon({ heartbeatMs: 100, updateIntervalMs: UPDATE_MS, pageSize: 4 });
});
afterAll(() => d?.close());

it('filters backlog and live alerts by minSeverity (inclusive), identity and detector', async () => {
  const from = storedSeqs(d.daemon).at(-1) ?? 0;
  const mix = () => {
    for (const identity of [X, Y]) {
      for (const detector of ['scope_drift', 'retry_storm'] as const) {
        for (const severity of ['low', 'medium', 'high', 'critical'] as const) raise(d.daemon, { identity, detector, severity });
      }
    }
  };
  mix(); // backlog
  const bySeverity = await connect(d.wsUrl, `since=${from}&minSeverity=high`);
  const byIdentity = await connect(d.wsUrl, `since=${from}&identity=${encodeURIComponent(X)}`);
  const combined = await connect(d.wsUrl, `since=${from}&identity=${encodeURIComponent(Y)}&detector=retry_storm&minSeverity=medium`);
  mix(); // live
  await waitFor(() => bySeverity.seqs().length === 16 && byIdentity.seqs().length === 16 && combined.seqs().length === 6, 'the filtered alerts');
  await new Promise((r) => setTimeout(r, 200)); // then nothing more arrives: the lengths below still hold
  const alerts = (c: typeof bySeverity) => c.of('alert').map((f) => f.alert);
  expect(alerts(bySeverity).every((a) => a.severity === 'high' || a.severity === 'critical')).toBe(true);
  expect(alerts(byIdentity).every((a) => a.identity === X)).toBe(true);
  expect(alerts(combined).every((a) => a.identity === Y && a.detector === 'retry_storm' && a.severity !== 'low')).toBe(true);
  for (const [c, expected] of [[bySeverity, 16], [byIdentity, 16], [combined, 6]] as const) {
    expect(c.seqs()).toEqual([...c.seqs()].sort((a, b) => a - b));
    expect(c.seqs()).toHaveLength(expected);
    expect(new Set(c.seqs()).size).toBe(c.seqs().length);
    await c.close();
  }
});

it('rate-limits update frames per alert, coalescing to the latest count; the final count always arrives', async () => {
  const c = await connect(d.wsUrl);
  const other = await connect(d.wsUrl, `identity=${encodeURIComponent(Y)}`);
  raise(d.daemon, { identity: X, subject: 'tool:fold-me', at: 1_000_000 });
  await waitFor(() => c.of('alert').length === 1, 'the alert');
  const [{ alert }] = c.of('alert');
  expect(alert.count).toBe(1);
  for (let i = 1; i <= 50; i++) raise(d.daemon, { identity: X, subject: 'tool:fold-me', at: 1_000_000 + i });
  await waitFor(() => c.of('update').at(-1)?.update.count === 51, 'the final count');
  await new Promise((r) => setTimeout(r, UPDATE_MS * 2)); // no further frame for it
  const updates = c.of('update').map((f) => f.update);
  // The first fold goes out at once, the other 49 within the same period coalesce into one frame.
  expect(updates.map((u) => u.count)).toEqual([2, 51]);
  expect(updates.every((u) => u.id === alert.id && u.seq === alert.seq)).toBe(true);
  expect(updates.at(-1)!.lastEventTime).toBe(new Date(Date.parse(alert.eventTime) + 50).toISOString());
  // Updates are filtered like the alert they are about.
  expect(other.of('update')).toEqual([]);

  // Folded counts reach SQLite only at the next group commit; a client catching up from the store (and
  // the REST API) still sees the count already announced.
  const late = await connect(d.wsUrl, `since=${alert.seq - 1}`);
  await waitFor(() => late.of('alert').length > 0, 'the stored alert');
  expect(late.of('alert')[0].alert).toMatchObject({ id: alert.id, count: 51 });
  const rest = await get(d.apiUrl, `/v1/alerts?since=${alert.seq - 1}&limit=1`);
  expect(rest.body.alerts[0]).toMatchObject({ id: alert.id, count: 51 });
  for (const conn of [c, other, late]) await conn.close();
});

it('sends revocation frames, filtered by identity only (not by minSeverity or detector)', async () => {
  const all = await connect(d.wsUrl);
  const onlyX = await connect(d.wsUrl, `identity=${encodeURIComponent(X)}&minSeverity=critical&detector=retry_storm`);
  const before = d.announced.length;
  // A high unexpected_write alert: neither critical nor retry_storm, yet its revocation reaches onlyX.
  raise(d.daemon, { identity: X, detector: 'unexpected_write', severity: 'high', credential: { id: 'jti-x1', type: 'oauth_jti' } });
  raise(d.daemon, { identity: Y, detector: 'unexpected_write', severity: 'critical' }); // no credential: not_revocable
  await waitFor(() => d.announced.some((r) => r.identity === X && r.status === 'succeeded'), 'the broker to revoke');
  const announced = d.announced.slice(before);
  const ofX = announced.filter((r) => r.identity === X);
  await waitFor(() => all.of('revocation').length === announced.length && onlyX.of('revocation').length === ofX.length, 'revocation frames');
  await new Promise((r) => setTimeout(r, 200)); // then nothing more arrives: the lengths below still hold
  expect(ofX.map((r) => [r.status, r.attempts])).toEqual([['pending', 0], ['pending', 1], ['succeeded', 2]]);
  expect(announced.filter((r) => r.identity === Y).map((r) => r.status)).toEqual(['not_revocable']);
  expect(all.of('revocation').map((f) => f.revocation)).toEqual(announced);
  expect(onlyX.of('revocation').map((f) => f.revocation)).toEqual(ofX);
  // The last frame of each revocation is its current state.
  const latest = new Map(all.of('revocation').map((f) => [f.revocation.revocationId, f.revocation]));
  const listed = d.daemon.revocations.list().filter((r) => latest.has(r.revocationId));
  expect([...latest.values()]).toEqual(listed);
  await all.close();
  await onlyX.close();
});

it('holds revocations and updates raised while a client catches up, and sends them right after its backlog', async () => {
  const from = storedSeqs(d.daemon).at(-1) ?? 0;
  raise(d.daemon, { identity: Y, subject: 'tool:fold-during-catch-up', at: 2_000_000 });
  for (let i = 0; i < 400; i++) raise(d.daemon);
  const c = await connect(d.wsUrl, `since=${from}`);
  // 400 alerts at 4 per page take ~100 event-loop turns to page: the next events arrive mid-backlog. The
  // revoking alert is stored, so it comes in the backlog; its revocation (announced once the alert is
  // committed) and the update are held until the backlog has been sent.
  expect(c.seqs().length).toBeLessThan(401);
  const before = d.announced.length;
  raise(d.daemon, { identity: X, detector: 'unexpected_write', severity: 'high' }); // not_revocable: one state, no broker call
  raise(d.daemon, { identity: Y, subject: 'tool:fold-during-catch-up', at: 2_000_001 });
  await waitFor(() => c.of('revocation').length === 1 && c.of('update').length === 1 && c.seqs().length === 402, 'backlog, revocation and update');
  expect(c.seqs()).toEqual(storedSeqs(d.daemon, from));
  const types = c.frames.filter((f) => f.type !== 'heartbeat').map((f) => f.type);
  expect(types.slice(402).sort()).toEqual(['revocation', 'update']);
  expect(d.announced.slice(before)).toMatchObject([{ identity: X, status: 'not_revocable' }]);
  expect(c.of('revocation')[0].revocation).toEqual(d.announced[before]);
  expect(c.of('update')[0].update).toMatchObject({ seq: from + 1, count: 2 });
  await c.close();
});

it('sends heartbeats carrying the newest stored seq', async () => {
  const c = await connect(d.wsUrl, `identity=${encodeURIComponent('spiffe://nobody')}`);
  raise(d.daemon);
  const newest = storedSeqs(d.daemon).at(-1)!;
  await waitFor(() => c.of('heartbeat').some((h) => h.seq === newest), 'a heartbeat with the newest seq');
  expect(c.seqs()).toEqual([]); // filtered out, yet the heartbeat says how far the store has got
  await c.close();
});
