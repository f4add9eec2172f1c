/**
 * The probe's `latency` mode: one probe every `intervalMs` once the parent says `go` (it starts the
 * background load first), each timed from its export call to the first websocket `alert` frame that
 * holds one of its span ids.
 */
import http from 'node:http';
import { exportOnce, learn, sleep, StreamWatcher } from './probe-client.js';
import { stats, waitFor, type LatencyResult, type ProbeConfig } from './probe-protocol.js';
import { buildProbes, type Probe } from './probe-traces.js';

export async function runLatency(cfg: ProbeConfig, notify: (m: unknown) => void): Promise<LatencyResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const baseline = await learn(cfg, cfg.http!, cfg.api!, agent);
  const probes = buildProbes(cfg, Date.now());
  const bySpan = new Map<string, Probe>();
  for (const p of probes) for (const s of p.spanIds) bySpan.set(s, p);
  let otherIdentityAlerts = 0;
  const watcher = new StreamWatcher(cfg.api!, cfg.token, (alert, at) => {
    const p = alert.evidence?.spanIds?.map((s) => bySpan.get(s)).find((x) => x !== undefined);
    if (p === undefined) otherIdentityAlerts++;
    else if (p.alertAt === 0) p.alertAt = at;
  });
  await watcher.open();
  const go = waitFor('go');
  notify({ type: 'armed' });
  await go;
  const cpu0 = process.cpuUsage();

  const errors: string[] = [];
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let pending = probes.length;
    probes.forEach((p, i) => {
      const fire = () => {
        p.sentAt = performance.now();
        void exportOnce(agent, cfg.http!, p.body, 10_000).then((r) => {
          p.ackAt = r.at;
          if (r.error) errors.push(r.error);
          if (--pending === 0) resolve();
        });
      };
      setTimeout(fire, Math.max(0, t0 + i * cfg.intervalMs - performance.now()));
    });
  });
  // Until every probe has its alert or the last one has waited alertTimeoutMs.
  const lastSent = Math.max(...probes.map((p) => p.sentAt));
  while (probes.some((p) => p.alertAt === 0) && performance.now() < lastSent + cfg.alertTimeoutMs) await sleep(20);
  const windowMs = Math.round(performance.now() - t0);
  const cpu = process.cpuUsage(cpu0);
  watcher.close();
  agent.destroy();

  const alerted = probes.filter((p) => p.alertAt > 0 && p.alertAt - p.sentAt <= cfg.alertTimeoutMs);
  return {
    mode: 'latency',
    baseline,
    probes: probes.length,
    probeErrors: errors.length,
    errorSamples: errors.slice(0, 5),
    ws: { alertFrames: watcher.alertFrames, updateFrames: watcher.updateFrames, otherIdentityAlerts, reconnects: watcher.reconnects, closeCodes: watcher.closeCodes },
    latencyMs: stats(alerted.map((p) => p.alertAt - p.sentAt)),
    exportMs: stats(probes.filter((p) => p.ackAt > 0).map((p) => p.ackAt - p.sentAt)),
    alerted: alerted.length,
    missing: probes.length - alerted.length,
    alertBeforeAck: alerted.filter((p) => p.alertAt < p.ackAt).length,
    windowMs,
    clientCpuMs: Math.round((cpu.user + cpu.system) / 1000),
  };
}
