/**
 * The error catalogue (src/errors.ts) is the one place statuses come from: these check the promises
 * the receivers and the API rely on, and how errors cross back from the ingest worker.
 */
import { describe, expect, it } from 'vitest';
import { ERRORS, errorFromWorker, VigilError, type ErrorCode } from '../../src/errors.js';
import { REQUEST_REJECT_REASONS } from '../../src/metrics.js';

const codes = Object.keys(ERRORS) as ErrorCode[];

describe('the error catalogue', () => {
  it('retryable errors are 503 / UNAVAILABLE, permanent ones never are (OTLP: only those may be retried)', () => {
    for (const code of codes) {
      const { retryable, http, grpc } = ERRORS[code];
      expect([code, http === 503 || http === 429, grpc === 14]).toEqual([code, retryable, retryable]);
    }
  });

  it('reasons are counted series of vigil_requests_rejected_total', () => {
    for (const code of codes) {
      const { reason } = ERRORS[code];
      if (reason !== undefined) expect(REQUEST_REJECT_REASONS).toContain(reason);
    }
  });

  it('a worker error keeps its code and status; an unforeseen one is a plain Error, so its text is not sent to the client', () => {
    const decode = errorFromWorker({ code: 'VIGIL_ERR_DECODE', message: 'the payload is not valid: truncated' });
    expect(decode).toBeInstanceOf(VigilError);
    expect(decode).toMatchObject({ code: 'VIGIL_ERR_DECODE', httpStatus: 400, retryable: false, message: 'the payload is not valid: truncated' });
    for (const code of ['VIGIL_ERR_INTERNAL', 'SOMETHING_ELSE']) {
      const e = errorFromWorker({ code, message: 'TypeError: x is undefined' });
      expect(e).not.toBeInstanceOf(VigilError);
      expect(e.message).toBe('TypeError: x is undefined');
    }
  });
});
