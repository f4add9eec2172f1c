/**
 * A client that opened a TCP connection to a TLS listener and never completed the handshake (a stalled
 * exporter, a port scanner, anyone) does not hold the daemon's shutdown. Such a socket is not yet an
 * HTTP connection, so Node's closeAllConnections misses it: the shutdown used to wait out the TLS
 * handshake timeout (120 s), past a Kubernetes grace period, and the final checkpoint was never written.
 */
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { SERVER_TLS } from '../helpers/tls.js';

const sockets: net.Socket[] = [];
afterEach(() => sockets.splice(0).forEach((s) => s.destroy()));

/** Opens a TCP connection to `port` and sends nothing. */
async function silentClient(port: number): Promise<void> {
  const s = net.connect(port, '127.0.0.1');
  sockets.push(s);
  s.on('error', () => {});
  await new Promise((r) => s.once('connect', r));
  await new Promise((r) => setTimeout(r, 50));
}

/**
 * 'closed' if `d.close()` resolves within 8 s, else 'hung'. The shutdown gives in-flight work 5 s at
 * most; the listener's TLS handshake timeout is 10 s, so a close that waited for the silent client
 * to time out would take 10 s: the bound must sit between the two to tell them apart.
 */
function closeWithin(d: TestDaemon): Promise<string> {
  return Promise.race([d.close().then(() => 'closed'), new Promise<string>((r) => setTimeout(() => r('hung'), 8_000).unref())]);
}

it.each(['http', 'api'] as const)('a silent client on the TLS %s listener does not hold the daemon shutdown', async (listener) => {
  const t = await startTestDaemon({ receivers: { otlp: { grpc: { tls: SERVER_TLS }, http: { tls: SERVER_TLS } } }, api: { tls: SERVER_TLS } });
  await silentClient(t.daemon.ports[listener]);
  expect(await closeWithin(t)).toBe('closed');
});
