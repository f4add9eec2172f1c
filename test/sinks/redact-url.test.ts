/** URLs as printed in errors, logs and stored rows: the origin only, never user-info, path or query. */
import { describe, expect, it } from 'vitest';
import { printableUrl, redactUrls, storedUrl } from '../../src/sinks/redact-url.js';

describe('printableUrl', () => {
  it('keeps the origin and marks what it cut', () => {
    expect(printableUrl('https://siem.example')).toBe('https://siem.example');
    expect(printableUrl('https://siem.example/')).toBe('https://siem.example');
    expect(printableUrl('https://user:pass@siem.example:8443/hook?token=abc')).toBe('https://<redacted>@siem.example:8443/<redacted>');
    // Slack-style hooks keep their secret in the path.
    expect(printableUrl('https://hooks.slack.com/services/T0/B0/XXXX')).toBe('https://hooks.slack.com/<redacted>');
  });

  it('cuts a URL the parser refuses after its authority, user-info removed', () => {
    expect(printableUrl('http://user:pass@bad host/x?token=abc')).toBe('http://bad host/<redacted>');
    expect(printableUrl('not a url')).toBe('<redacted>');
  });
});

describe('redactUrls', () => {
  it('makes every URL in a message printable and cuts the known URL\'s secrets wherever they appear', () => {
    const url = 'http://siem:s3cret%21pw@10.0.0.5:9000/hook?token=tok-42&x=1';
    const text = `Request cannot be constructed from a URL that includes credentials: ${url} (s3cret!pw, tok-42)`;
    const out = redactUrls(text, url);
    for (const secret of ['s3cret', 'tok-42', '/hook']) expect(out).not.toContain(secret);
    expect(out).toContain('http://<redacted>@10.0.0.5:9000/<redacted>');
  });

  it('leaves a message without URLs alone', () => {
    expect(redactUrls('ECONNREFUSED', 'http://u:pw@h/')).toBe('ECONNREFUSED');
    expect(redactUrls('timed out')).toBe('timed out');
  });
});

describe('storedUrl', () => {
  it('drops user-info and keeps what tells endpoints apart', () => {
    expect(storedUrl('https://user:pass@siem.example/hook?channel=a')).toBe('https://siem.example/hook?channel=a');
  });

  it('leaves a url without user-info exactly as configured, so rows stored before still match', () => {
    for (const url of ['https://siem.example', 'http://127.0.0.1:9000/hook?token=x']) expect(storedUrl(url)).toBe(url);
  });
});
