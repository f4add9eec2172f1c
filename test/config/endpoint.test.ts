/** The one reading of `host:port` (src/config/endpoint.ts), as the listeners, cross-checks and CLI use it. */
import { describe, expect, it } from 'vitest';
import { joinEndpoint, splitEndpoint, unbracketed } from '../../src/config/endpoint.js';

describe('splitEndpoint', () => {
  it('splits an IPv4 address and its port', () => {
    expect(splitEndpoint('127.0.0.1:4317')).toEqual({ host: '127.0.0.1', port: '4317' });
  });

  it('splits a hostname and its port', () => {
    expect(splitEndpoint('localhost:8790')).toEqual({ host: 'localhost', port: '8790' });
    expect(splitEndpoint('collector.internal:4318')).toEqual({ host: 'collector.internal', port: '4318' });
  });

  it('keeps an IPv6 address in its brackets: the port is what follows the last colon', () => {
    expect(splitEndpoint('[::1]:4317')).toEqual({ host: '[::1]', port: '4317' });
    expect(splitEndpoint('[::]:0')).toEqual({ host: '[::]', port: '0' });
  });

  it('keeps the wildcard address and port 0 as written', () => {
    expect(splitEndpoint('0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: '0' });
  });

  it('keeps the port as written, so 04317 and 4317 stay two spellings', () => {
    expect(splitEndpoint('127.0.0.1:04317').port).toBe('04317');
  });
});

describe('joinEndpoint', () => {
  it('gives back what splitEndpoint took apart', () => {
    for (const e of ['127.0.0.1:4317', 'localhost:8790', '[::1]:4317', '0.0.0.0:0']) {
      const { host, port } = splitEndpoint(e);
      expect(joinEndpoint(host, port), e).toBe(e);
    }
  });

  it('takes a bound port as a number', () => {
    expect(joinEndpoint('[::1]', 40123)).toBe('[::1]:40123');
    expect(joinEndpoint('0.0.0.0', 4317)).toBe('0.0.0.0:4317');
  });
});

describe('unbracketed', () => {
  it("drops an IPv6 address's brackets for socket APIs and leaves other hosts alone", () => {
    expect(unbracketed('[::1]')).toBe('::1');
    expect(unbracketed('127.0.0.1')).toBe('127.0.0.1');
    expect(unbracketed('localhost')).toBe('localhost');
  });
});
