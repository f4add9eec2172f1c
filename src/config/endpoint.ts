/**
 * The one reading of a configured `host:port` endpoint (schema.ts checks its shape: a hostname, an IPv4
 * address or a bracketed IPv6 one, then `:digits`). The port is what follows the last colon, which is
 * why an IPv6 host needs its brackets; they are kept in `host`, so the parts join back to what was written.
 */

/** An endpoint's parts as written: `host` keeps an IPv6 address's brackets (`[::1]`), `port` its digits. */
export interface EndpointParts {
  host: string;
  port: string;
}

/** `127.0.0.1:4317` -> `{ host: '127.0.0.1', port: '4317' }`; `[::1]:4317` -> `{ host: '[::1]', port: '4317' }`. */
export function splitEndpoint(endpoint: string): EndpointParts {
  const i = endpoint.lastIndexOf(':');
  return { host: endpoint.slice(0, i), port: endpoint.slice(i + 1) };
}

/** The endpoint of a host as written (brackets and all) and a port: the inverse of `splitEndpoint`. */
export function joinEndpoint(host: string, port: string | number): string {
  return `${host}:${port}`;
}

/** A host as socket APIs take it (`net.Server.listen`): an IPv6 address without its brackets. */
export function unbracketed(host: string): string {
  return host.replace(/^\[|\]$/g, '');
}
