/**
 * Checks across config keys, run once every key is valid on its own (references between sections,
 * bounds that depend on another key). Each problem names its key path.
 */
import type { z } from 'zod';
import { EXTERNAL_ZONE } from '../actions/zones.js';
import { splitEndpoint } from './endpoint.js';
import type { Config } from './schema.js';

/** Node's timers take at most 2^31 - 1 ms (longer ones fire at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** The shortest alert retention: anything shorter is more likely a slip of unit (`365m`) than a wish. */
const DAY_MS = 86_400_000;

export function crossChecks(cfg: Config, ctx: z.RefinementCtx): void {
  const names = new Set(cfg.revocation.brokers.map((b) => b.name));
  cfg.revocation.rules.forEach((rule, i) => {
    if (!names.has(rule.broker)) {
      ctx.addIssue({
        code: 'custom',
        path: ['revocation', 'rules', i, 'broker'],
        message: `names no broker in revocation.brokers (${[...names].join(', ') || 'none configured'})`,
      });
    }
  });
  const urls = new Set<string>();
  cfg.webhooks.forEach((w, i) => {
    // The url is an endpoint's identity in the outbox; two entries with one url would share deliveries.
    if (urls.has(w.url)) ctx.addIssue({ code: 'custom', path: ['webhooks', i, 'url'], message: 'duplicates the url of an earlier webhook' });
    urls.add(w.url);
  });
  // Timers: 0 would turn a guard off or retry without pause; past 24d Node's timer fires at once.
  const timers: Array<[string[], number]> = [
    [['receivers', 'otlp', 'requestTimeout'], cfg.receivers.otlp.requestTimeout],
    [['delivery', 'timeout'], cfg.delivery.timeout],
    [['delivery', 'retryInitial'], cfg.delivery.retryInitial],
    [['delivery', 'retryMax'], cfg.delivery.retryMax],
  ];
  for (const [path, ms] of timers) {
    if (!(ms > 0 && ms <= MAX_TIMER_MS)) ctx.addIssue({ code: 'custom', path, message: 'must be more than 0 and at most 24d' });
  }
  if (cfg.baselines.halfLife <= 0) {
    // 0 reads like "no decay" but means the opposite: everything learned fades at once, nothing is normal.
    ctx.addIssue({ code: 'custom', path: ['baselines', 'halfLife'], message: 'must be more than 0: what is learned fades by half in this time (0 would forget it at once)' });
  }
  const storm = cfg.detectors.retry_storm;
  if (storm.sustainedWindow <= storm.window) {
    ctx.addIssue({ code: 'custom', path: ['detectors', 'retry_storm', 'sustainedWindow'], message: 'must be longer than detectors.retry_storm.window' });
  }
  if (cfg.baselines.forgetIdleAfter < cfg.baselines.peerIdleAfter) {
    ctx.addIssue({ code: 'custom', path: ['baselines', 'forgetIdleAfter'], message: 'must be at least baselines.peerIdleAfter' });
  }
  // Two listeners on one port: the second to start would fail with "another process holds that port".
  const listeners: Array<[string[], string]> = [
    [['receivers', 'otlp', 'grpc', 'endpoint'], cfg.receivers.otlp.grpc.enabled ? cfg.receivers.otlp.grpc.endpoint : ''],
    [['receivers', 'otlp', 'http', 'endpoint'], cfg.receivers.otlp.http.enabled ? cfg.receivers.otlp.http.endpoint : ''],
    [['api', 'endpoint'], cfg.api.endpoint],
  ];
  // `[::]` takes IPv6 and IPv4, `0.0.0.0` every IPv4 address; an IPv6 address (bracketed) and 0.0.0.0 can share a port.
  const covers = (wild: string, host: string) => wild === '[::]' || (wild === '0.0.0.0' && !host.startsWith('['));
  const clash = (a: string, b: string) => {
    const [x, y] = [splitEndpoint(a), splitEndpoint(b)];
    return a !== '' && b !== '' && x.port !== '0' && x.port === y.port && (x.host === y.host || covers(x.host, y.host) || covers(y.host, x.host));
  };
  listeners.forEach(([path, endpoint], i) => {
    const earlier = listeners.slice(0, i).find(([, e]) => clash(e, endpoint));
    if (earlier) ctx.addIssue({ code: 'custom', path, message: `uses port ${splitEndpoint(endpoint).port}, as ${earlier[0].join('.')} does; give each listener its own port` });
  });
  const { grpc, http, clientIdentities } = cfg.receivers.otlp;
  const withoutClientCerts = Object.entries({ grpc, http }).find(([, r]) => r.enabled && r.tls?.clientCa === undefined);
  if (clientIdentities !== undefined && withoutClientCerts) {
    ctx.addIssue({
      code: 'custom',
      path: ['receivers', 'otlp', 'clientIdentities'],
      message: `needs client certificates (tls.clientCa) on every enabled receiver, and receivers.otlp.${withoutClientCerts[0]} has none`,
    });
  }
  if (cfg.api.tls?.clientCa !== undefined) {
    // API clients (the CLI, browsers, SOC tooling) authenticate with the API token, not certificates.
    ctx.addIssue({ code: 'custom', path: ['api', 'tls', 'clientCa'], message: 'is for the receivers only: API clients authenticate with the API token' });
  }
  if (cfg.alerts.retention < Math.max(DAY_MS, cfg.alerts.suppressionWindow)) {
    // A shorter one could delete an alert that findings still fold into.
    ctx.addIssue({ code: 'custom', path: ['alerts', 'retention'], message: 'must be at least 1d and at least alerts.suppressionWindow' });
  }
  if (cfg.delivery.retryMax < cfg.delivery.retryInitial) {
    ctx.addIssue({ code: 'custom', path: ['delivery', 'retryMax'], message: 'must be at least delivery.retryInitial' });
  }
  const seen = new Set<string>();
  cfg.revocation.brokers.forEach((b, i) => {
    // Rules pick brokers by name; a second broker of the same name could never be chosen.
    if (seen.has(b.name)) {
      ctx.addIssue({ code: 'custom', path: ['revocation', 'brokers', i, 'name'], message: `duplicates the name of an earlier broker ("${b.name}")` });
    }
    seen.add(b.name);
  });
  cfg.sensitive.zones.forEach((zone, i) => {
    if (zone !== EXTERNAL_ZONE && !Object.hasOwn(cfg.zones, zone)) {
      ctx.addIssue({ code: 'custom', path: ['sensitive', 'zones', i], message: `names unknown zone "${zone}"` });
    }
  });
  for (const zone of Object.keys(cfg.zones)) {
    // JavaScript objects list integer-like keys first, which would silently reorder first-match-wins zones.
    if (/^\d+$/.test(zone)) {
      ctx.addIssue({ code: 'custom', path: ['zones', zone], message: 'a zone name must not be a plain number (zones are tried in order)' });
    }
  }
}
