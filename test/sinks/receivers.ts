/**
 * Real HTTP receivers for delivery tests: node:http on 127.0.0.1 port 0, recording every request and
 * answering as the test scripts it (status, headers, a delay to hold requests open). Signatures are
 * checked in the tests with the independent `standardwebhooks` package, never with Vigil's own signer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Wall clock when the request arrived, ms. */
  at: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Hold the answer this long (ms): requests stay in flight, for concurrency tests. */
  delayMs?: number;
}

export type Responder = (req: Received, index: number) => Reply;

export class Receiver {
  readonly received: Received[] = [];
  inFlight = 0;
  maxInFlight = 0;

  private constructor(
    private readonly server: http.Server,
    public respond: Responder,
  ) {}

  static async start(respond: Responder = () => ({ status: 200 })): Promise<Receiver> {
    const server = http.createServer();
    const receiver = new Receiver(server, respond);
    server.on('request', (req, res) => receiver.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return receiver;
  }

  /** A URL on this receiver. */
  url(path = '/hook'): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      const index = this.received.push(r) - 1;
      const reply = this.respond(r, index);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      setTimeout(() => {
        this.inFlight--;
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      }, reply.delayMs ?? 0);
    });
  }

  /** Distinct `webhook-id`s received, in first-seen order (what a deduplicating receiver keeps). */
  ids(): string[] {
    return [...new Set(this.received.map((r) => String(r.headers['webhook-id'])))];
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Verifies a Standard Webhooks request with the reference library; returns the parsed payload or throws. */
export function verifyStandardWebhook(secret: string, r: Received): { type: string; timestamp: string; data: Record<string, unknown> } {
  const headers = {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  };
  return new Webhook(secret).verify(r.body, headers) as { type: string; timestamp: string; data: Record<string, unknown> };
}
