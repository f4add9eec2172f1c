/** Vigil's Standard Webhooks signer against the reference implementation (`standardwebhooks`). */
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { secretKey, sign, signedHeaders } from '../../src/sinks/signing.js';
import { WEBHOOK_SECRET } from './fixtures.js';

describe('Standard Webhooks signing', () => {
  const body = JSON.stringify({ type: 'alert.created', timestamp: '2026-01-05T12:00:00.000Z', data: { id: 'al_1', note: 'ünïcode ✓' } });

  it('produces headers the reference library verifies', () => {
    const headers = signedHeaders(secretKey(WEBHOOK_SECRET), 'al_1', body, Date.now());
    expect(new Webhook(WEBHOOK_SECRET).verify(body, headers)).toEqual(JSON.parse(body));
    expect(headers['content-type']).toBe('application/json');
  });

  it('matches the reference signature byte for byte', () => {
    const at = new Date(Date.UTC(2026, 0, 5, 12, 0, 0));
    const expected = new Webhook(WEBHOOK_SECRET).sign('msg_2', at, body);
    expect(sign(secretKey(WEBHOOK_SECRET), 'msg_2', at.getTime() / 1000, body)).toBe(expected);
  });

  it('fails verification with another secret or a changed body', () => {
    const headers = signedHeaders(secretKey(WEBHOOK_SECRET), 'al_1', body, Date.now());
    expect(() => new Webhook('whsec_' + Buffer.from('another secret').toString('base64')).verify(body, headers)).toThrow();
    expect(() => new Webhook(WEBHOOK_SECRET).verify(body.replace('al_1', 'al_2'), headers)).toThrow();
  });
});
