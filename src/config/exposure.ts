/**
 * Settings that expose Vigil on a network, said at start as warnings, each naming its key. Allowed — a
 * TLS proxy, a private link or a firewall may protect them — but worth a word:
 * - secrets in clear: an API without TLS beyond loopback (its bearer token, alerts, identities),
 *   receivers taking a token without TLS beyond loopback, plain-http webhooks or revocation brokers on
 *   other hosts (signed alerts, credential ids, a Vault token);
 * - receivers beyond loopback that admit anyone (no token, no client certificates): Vigil believes what
 *   spans say about who sent them, so anyone who can reach one can act as any identity (teach it
 *   baselines, raise alerts, have real credentials revoked).
 */
import { splitEndpoint } from './endpoint.js';
import type { Config } from './schema.js';
import type { ConfigWarning } from './warnings.js';

export function exposureWarnings(config: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  if (config.api.tls === undefined && !isLoopbackEndpoint(config.api.endpoint)) {
    out.push({ key: 'api.endpoint', message: 'is reachable from other hosts without TLS: the API token, alerts and identities cross the network in clear; set api.tls, or listen on 127.0.0.1 behind a TLS proxy' });
  }
  const { otlp } = config.receivers;
  for (const [name, r] of [['grpc', otlp.grpc], ['http', otlp.http]] as const) {
    if (!r.enabled || isLoopbackEndpoint(r.endpoint)) continue;
    const key = `receivers.otlp.${name}.endpoint`;
    if (otlp.token === undefined && r.tls?.clientCa === undefined) {
      out.push({ key, message: 'is reachable from other hosts and admits anyone: whoever can reach it can send spans as any identity; set receivers.otlp.token or its tls.clientCa' });
    } else if (otlp.token !== undefined && r.tls === undefined) {
      out.push({ key, message: 'is reachable from other hosts without TLS: exporters send receivers.otlp.token in clear; set its tls' });
    }
  }
  config.webhooks.forEach((w, i) => {
    if (remoteHttp(w.url)) out.push({ key: `webhooks[${i}].url`, message: 'sends alerts to another host over plain http; use https' });
  });
  config.revocation.brokers.forEach((b, i) => {
    const [field, url] = b.type === 'vault' ? ['address', b.address] : ['url', b.url];
    if (remoteHttp(url)) {
      const what = b.type === 'vault' ? 'the Vault token and credential ids' : 'revocation requests (credential ids)';
      out.push({ key: `revocation.brokers[${i}].${field}`, message: `sends ${what} to another host over plain http; use https` });
    }
  });
  return out;
}

/** True when an endpoint's (`host:port`) host is this machine's loopback (127.0.0.0/8, ::1, localhost). */
export function isLoopbackEndpoint(endpoint: string): boolean {
  return isLoopbackHost(splitEndpoint(endpoint).host);
}

function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function remoteHttp(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'http:' && !isLoopbackHost(u.hostname);
}
