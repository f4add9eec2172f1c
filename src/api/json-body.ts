/** Reads a small JSON request body (API calls), refusing anything over `limit` bytes. */
import type http from 'node:http';

/** A client's mistake, its message naming it; a route throws it and the ApiServer answers 400 VIGIL_ERR_BAD_REQUEST. */
export class BadRequest extends Error {}

/** A body over the route's limit: answered 413 VIGIL_ERR_TOO_LARGE. */
export class BodyTooLarge extends BadRequest {}

/**
 * How much of an oversized body is still read, and dropped, after the 413 is decided. A client that is
 * still sending when the server stops reading gets a connection reset, often before it reads the
 * answer; draining lets it see the 413. Past this, the connection is cut.
 */
const DRAIN_BYTES = 1024 * 1024;

export function readJson(req: http.IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge = () => {
      chunks.length = 0;
      reject(new BodyTooLarge(`the body is larger than ${limit} bytes`));
    };
    const declared = Number(req.headers['content-length']);
    if (declared > limit) tooLarge();
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit + DRAIN_BYTES) req.destroy();
      else if (size > limit) tooLarge(); // only the first rejection counts
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > limit) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      } catch {
        reject(new BadRequest('body is not valid JSON'));
      }
    });
    req.on('error', reject);
    // After 'end' this is a no-op; before it, the client went away mid-body.
    req.on('close', () => reject(new BadRequest('the connection closed before the body ended')));
  });
}
