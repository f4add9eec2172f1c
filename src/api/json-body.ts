/** Reads a small JSON request body (API calls), refusing anything over `limit` bytes. */
import type http from 'node:http';
import { VigilError } from '../errors.js';
import { readBody } from '../receiver/read-body.js';

/** A client's mistake, its message naming it; a route throws it and the ApiServer answers 400 VIGIL_ERR_BAD_REQUEST. */
export class BadRequest extends Error {}

/** A body over the route's limit: answered 413 VIGIL_ERR_TOO_LARGE, the rest of it drained. */
export class BodyTooLarge extends BadRequest {}

/** The body as JSON (`{}` when empty); gzip is accepted as on the receivers, with the limit after inflating. */
export async function readJson(req: http.IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  let body: Buffer;
  try {
    body = await readBody(req, limit);
  } catch (err) {
    if (err instanceof VigilError && err.code === 'VIGIL_ERR_TOO_LARGE') throw new BodyTooLarge(`the body is larger than ${limit} bytes`);
    if (err instanceof VigilError && err.code === 'VIGIL_ERR_CONTENT_ENCODING') throw new BadRequest(err.message);
    throw new BadRequest(`the body could not be read: ${err instanceof VigilError ? err.detail : String(err)}`);
  }
  try {
    return JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new BadRequest('body is not valid JSON');
  }
}
