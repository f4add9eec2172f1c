/**
 * Webhook endpoint routes (review24 L3): `GET /v1/webhooks` shows what each endpoint is doing, and
 * `POST /v1/webhooks/{endpoint}/resume` sends an endpoint's pending deliveries now, once its receiver is
 * back, rather than at its next probe (up to `delivery.retryMax` away). `{endpoint}` is the endpoint's
 * index in `webhooks`, as in the metrics' `endpoint` label and the logs' `webhooks[0]`: the config gives
 * endpoints no name, and a url may hold a token.
 */
import { checkParams } from './alerts.js';
import { clientAddress, pathSegment, sendError, sendJson, type ApiServer } from './server.js';

/** Where webhook endpoints' state comes from (the outbox). Declared here, so the API does not depend on the sinks. */
export interface WebhookSource {
  status(): unknown[];
  /** The endpoint's new state, why it cannot be resumed, or undefined when there is no such endpoint. */
  resume(index: number, by: string): { webhook: unknown } | { refused: string } | undefined;
}

export function registerWebhookRoutes(api: ApiServer, webhooks: WebhookSource): void {
  api.route('GET /v1/webhooks', (_req, res, url) => {
    checkParams(url.searchParams, [], []);
    sendJson(res, 200, { webhooks: webhooks.status() });
  });

  api.routePattern('POST', /^\/v1\/webhooks\/[^/]+\/resume$/, (req, res, url) => {
    const name = pathSegment(url, 3, 'webhook endpoint');
    // Digits only: Number() would take '', ' 1' or '0x1' for an index the client did not write.
    const outcome = /^\d{1,9}$/.test(name) ? webhooks.resume(Number(name), clientAddress(req)) : undefined;
    if (outcome === undefined) {
      return sendError(res, 'VIGIL_ERR_NOT_FOUND', `unknown webhook endpoint ${name}: an endpoint is named by its index in webhooks (0 for the first; see GET /v1/webhooks)`);
    }
    if ('refused' in outcome) return sendError(res, 'VIGIL_ERR_CONFLICT', outcome.refused);
    sendJson(res, 200, outcome);
  });
}
