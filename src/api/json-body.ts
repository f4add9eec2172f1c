/** Reads a small JSON request body (API calls), refusing anything over `limit` bytes. */
import type http from 'node:http';

/** A client's mistake, its message naming it; a route throws it and the ApiServer answers 400 VIGIL_ERR_BAD_REQUEST. */
export class BadRequest extends Error {}

export async function readJson(req: http.IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BadRequest(`body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new BadRequest('body is not valid JSON');
  }
}
