/**
 * Reads a request body within a size limit that applies after decompression. A gzip body is inflated as a
 * stream and abandoned as soon as its output passes the limit, so a gzip bomb costs at most `limit` bytes
 * of memory; a declared Content-Length over the limit is refused before reading anything.
 */
import type http from 'node:http';
import zlib from 'node:zlib';
import { VigilError } from '../errors.js';

/** Memory a request body may take while it is read, shared by all requests (the pipeline's queue budget). */
export interface BodyBudget {
  /** Takes `bytes` more for this body; false when they are not available (the body is then refused). */
  take(bytes: number): boolean;
}

/**
 * @param budget charged chunk by chunk as the (inflated) body arrives, so many slow or withheld uploads
 *   cannot hold more memory between them than the budget allows; the caller gives it back.
 */
export function readBody(req: http.IncomingMessage, limit: number, budget?: BodyBudget): Promise<Buffer> {
  const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'gzip' && encoding !== 'identity' && encoding !== '') {
    return Promise.reject(new VigilError('VIGIL_ERR_CONTENT_ENCODING', encoding));
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new VigilError('VIGIL_ERR_TOO_LARGE', `${declared} bytes declared`));
  }

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const source = encoding === 'gzip' ? req.pipe(zlib.createGunzip()) : req;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      if (err) {
        // Stop reading but leave the socket open: the caller answers, then reads and drops the rest of the
        // body (drainRest) or closes the connection.
        source.removeAllListeners('data');
        if (source !== req) {
          req.unpipe();
          source.destroy();
        }
        req.pause();
        reject(err);
      } else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    source.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish(new VigilError('VIGIL_ERR_TOO_LARGE', `more than ${limit} bytes after decompression`));
      if (budget && !budget.take(chunk.length)) return finish(new VigilError('VIGIL_ERR_OVERLOADED', 'request bodies being read fill the ingest queue budget'));
      chunks.push(chunk);
    });
    source.on('end', () => finish(null));
    source.on('error', (err: Error) => finish(new VigilError('VIGIL_ERR_DECODE', `gzip: ${err.message}`)));
    req.on('aborted', () => finish(new VigilError('VIGIL_ERR_DECODE', 'the client aborted the request')));
  });
}

/**
 * After a body was refused before its end (too large, refused for load): reads and drops up to `limit`
 * more bytes while the answer goes out. A client still sending when the connection closes gets a reset,
 * often before it reads the answer (and may retry what can never fit); drained, it reads the 413 and
 * keeps its connection. Past `limit` (bandwidth, not memory: nothing is kept) the connection is cut once
 * the answer is out.
 */
export function drainRest(req: http.IncomingMessage, res: http.ServerResponse, limit: number): void {
  let drained = 0;
  const onData = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained <= limit) return;
    req.off('data', onData);
    req.pause();
    if (res.writableFinished) req.destroy();
    else res.once('finish', () => req.destroy());
  };
  req.on('data', onData);
  req.resume();
}
