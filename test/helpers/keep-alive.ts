/**
 * POSTs a body several times through one keep-alive agent with a single socket: what each attempt got
 * (its status, or the socket error that took its place), and how many connections it took. A reused
 * connection shows the server read the whole body; one per attempt shows it closed each.
 */
import http from 'node:http';

export async function postRepeatedly(url: string, headers: Record<string, string>, body: Buffer, times: number): Promise<{ outcomes: Array<number | string>; connections: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<unknown>();
  const outcomes: Array<number | string> = [];
  try {
    for (let i = 0; i < times; i++) {
      outcomes.push(
        await new Promise<number | string>((resolve) => {
          const req = http.request(url, { method: 'POST', headers, agent }, (r) => {
            r.resume();
            r.on('end', () => resolve(r.statusCode!));
          });
          req.on('socket', (s) => sockets.add(s));
          req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
          req.end(body);
        }),
      );
    }
  } finally {
    agent.destroy();
  }
  return { outcomes, connections: sockets.size };
}
