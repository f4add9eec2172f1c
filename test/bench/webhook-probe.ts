/**
 * The probe's `webhooks` mode: a local receiver the daemon delivers to (node:http, 200 OK, signatures
 * checked with the independent `standardwebhooks` package) and probes sent faster than alerts can be
 * delivered, so the delivery path is what is measured; deliveries checked against every stored alert.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { allAlerts, exportOnce, learn, sleep, StreamWatcher } from './probe-client.js';
import { stats, waitFor, type ProbeConfig, type WebhookResult } from './probe-protocol.js';
import { buildProbes, type Probe } from './probe-traces.js';

/** The webhook endpoint: 200 OK to everything, signature checked, first arrival per webhook-id kept. */
class WebhookReceiver {
  readonly firstAt = new Map<string, number>();
  duplicates = 0;
  badSignatures = 0;
  connections = 0;
  readonly secret = `whsec_${crypto.randomBytes(24).toString('base64')}`;
  private readonly verifier = new Webhook(this.secret);
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id'] ?? '');
      try {
        this.verifier.verify(body, req.headers as Record<string, string>);
      } catch {
        this.badSignatures++;
      }
      if (this.firstAt.has(id)) this.duplicates++;
      else this.firstAt.set(id, at);
      res.writeHead(200, { 'Content-Length': 0 }).end();
    });
  });

  async start(): Promise<string> {
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', () => this.connections++);
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/vigil`;
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

export async function runWebhooks(cfg: ProbeConfig, notify: (m: unknown) => void): Promise<WebhookResult> {
  const receiver = new WebhookReceiver();
  const url = await receiver.start();
  const targetMsg = waitFor('target');
  notify({ type: 'receiver', url, secret: receiver.secret });
  const target = await targetMsg;
  const cpu0 = process.cpuUsage();
  const http_ = String(target.http);
  const api = String(target.api);
  try {
    const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.concurrency });
    const baseline = await learn(cfg, http_, api, agent);
    const probes = buildProbes(cfg, Date.now(), cfg.probesPerExport);
    const exports = probes.filter((p) => p.body.length > 0);
    const bySpan = new Map<string, Probe>();
    for (const p of probes) for (const s of p.spanIds) bySpan.set(s, p);
    const alertAt = new Map<string, number>();
    let otherIdentityAlerts = 0;
    const watcher = new StreamWatcher(api, cfg.token, (alert, at) => {
      if (!alert.evidence?.spanIds?.some((s) => bySpan.has(s))) otherIdentityAlerts++;
      if (!alertAt.has(alert.id)) alertAt.set(alert.id, at);
    });
    await watcher.open();
    notify({ type: 'probing' });

    const errors: string[] = [];
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: cfg.concurrency }, async () => {
        while (next < exports.length) {
          const p = exports[next++];
          p.sentAt = performance.now();
          const r = await exportOnce(agent, http_, p.body, 10_000);
          p.ackAt = r.at;
          if (r.error) errors.push(r.error);
        }
      }),
    );
    const probeSendMs = performance.now() - t0;
    agent.destroy();
    // Every alert is stored before its export is answered: this is the full set to be delivered.
    const stored = await allAlerts(api, cfg.token);
    const expected = new Set(stored.map((a) => a.id));
    const deadline = performance.now() + cfg.deliveryTimeoutMs;
    const allIn = () => [...expected].every((id) => receiver.firstAt.has(id));
    while (!allIn() && performance.now() < deadline) await sleep(20);
    await sleep(200); // late duplicates, if any
    watcher.close();

    const delivered = [...receiver.firstAt.keys()].filter((id) => expected.has(id));
    const times = [...receiver.firstAt.values()];
    const firstAlert = Math.min(...alertAt.values());
    const lastAlert = Math.max(...alertAt.values());
    const lastDelivery = Math.max(...times);
    const endToEndMs = lastDelivery - firstAlert;
    const cpu = process.cpuUsage(cpu0);
    const fromProbes = stored.filter((a) => a.identity.startsWith('spiffe://bench.example/ns/probe/')).length - baseline.alertsRaised;
    return {
      mode: 'webhooks',
      baseline,
      probes: probes.length,
      exports: exports.length,
      probeErrors: errors.length,
      errorSamples: errors.slice(0, 5),
      ws: { alertFrames: watcher.alertFrames, updateFrames: watcher.updateFrames, otherIdentityAlerts, reconnects: watcher.reconnects, closeCodes: watcher.closeCodes },
      alertsInStore: stored.length,
      alertsFromProbes: fromProbes,
      delivered: delivered.length,
      duplicates: receiver.duplicates,
      missing: expected.size - delivered.length,
      unexpected: receiver.firstAt.size - delivered.length,
      badSignatures: receiver.badSignatures,
      endToEndMs: Math.round(endToEndMs),
      deliveriesPerSec: Math.round((delivered.length / endToEndMs) * 1000),
      deliverySpanMs: Math.round(lastDelivery - Math.min(...times)),
      probeSendMs: Math.round(probeSendMs),
      alertSpanMs: Math.round(lastAlert - firstAlert),
      connections: receiver.connections,
      clientCpuMs: Math.round((cpu.user + cpu.system) / 1000),
      alertToDeliveryMs: stats([...alertAt].filter(([id]) => receiver.firstAt.has(id)).map(([id, at]) => receiver.firstAt.get(id)! - at)),
    };
  } finally {
    receiver.close();
  }
}
