/**
 * Listening on a configured `host:port` endpoint, and closing connections that never speak. Shared by
 * the receivers and the API.
 */
import type http from 'node:http';
import net from 'node:net';
import { splitEndpoint, unbracketed } from '../config/endpoint.js';

/** Longest a client may stay connected without sending a byte. */
export const SILENT_CONNECTION_MS = 30_000;

/** Listens on `endpoint` (`host:port`, IPv6 hosts in brackets); resolves with the bound port. */
export function listenOn(server: net.Server, endpoint: string): Promise<number> {
  const { host, port } = splitEndpoint(endpoint);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), unbracketed(host), () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/**
 * Closes a connection that has sent nothing within `ms`. Node's (and grpc-js's) timeouts start with a
 * request's first byte, so such a socket, a file descriptor each, would otherwise stay for as long as
 * the client likes. A plain timer, not `socket.setTimeout`: Node's HTTP server destroys any socket whose
 * inactivity timeout fires, talking or not.
 */
export function closeIfSilent(socket: net.Socket, ms: number): void {
  const timer = setTimeout(() => socket.bytesRead === 0 && socket.destroy(), ms).unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * True for a request that reached a loopback address under a name other than `localhost` or an IP
 * literal: a web page that pointed its own name at 127.0.0.1 (DNS rebinding) to reach what listens only
 * on loopback, as the token-less default receivers do (review25 F7). Nothing else names loopback so; a
 * request without a Host header (no browser sends one) passes.
 */
export function reboundToLoopback(req: http.IncomingMessage): boolean {
  const host = req.headers.host;
  if (host === undefined || !isLoopbackAddress(req.socket.localAddress ?? '')) return false;
  const name = (host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '')).toLowerCase();
  return !(name === 'localhost' || name.endsWith('.localhost') || net.isIP(name) !== 0);
}

/** True for a socket's local address (unbracketed, as Node gives it) on loopback, IPv4-mapped included. */
function isLoopbackAddress(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
