import { describe, expect, it } from 'vitest';
import { isIdSegment, segmentTemplate, templatePath, urlHost, urlPath } from '../../src/actions/url.js';

describe('HTTP target path rule', () => {
  it('id-like segments: digits, UUIDs, long hex, emails, dated and long opaque tokens', () => {
    for (const s of ['42', '550e8400-e29b-41d4-a716-446655440000', 'deadbeefdeadbeef', 'a@b.example',
      '2024-01-15', 'report-2024.pdf', 'cus_NffrFeUfNV2Hib', 'eyJhbGciOiJIUzI1NiJ9', 'x'.repeat(40)]) {
      expect(isIdSegment(s), s).toBe(true);
    }
    for (const s of ['users', 'v1', 'v2beta1', 'oauth2', 'api', 'get_user_by_email', 'internationalization', 'chat']) {
      expect(isIdSegment(s), s).toBe(false);
    }
  });
  it('keys with a prefix and a generated tail are ids; routes with a version or a word are not (review38 H1)', () => {
    for (const s of ['SUP-123', 'PROJ-42', 'cus_9s6XKzkNRiz8i3', 'asst_abc123XYZ', 'pi_3MtwBwLkdIwHu7ix28a3tqPa']) {
      expect(isIdSegment(s), s).toBe(true);
    }
    // Names people give stay themselves (review39 H2): a sensitive target may name them.
    for (const s of ['api-v2', 'oauth-2', 'get_user', 'user-profile', 'access_tokens', 'v1_beta', 'get_UserProfile', 'prod-01', 'web-03', 'HR-Compensation', 'IT-KnowledgeBase', 'msg_abc12']) {
      expect(isIdSegment(s), s).toBe(false);
    }
  });
  it('a file named by an id keeps only its extension; named files, API formats and pages stay themselves (review38 H1)', () => {
    expect(segmentTemplate('TCK-987.json')).toBe('{id}.json');
    expect(segmentTemplate('scan-20240115.PDF')).toBe('{id}.pdf');
    expect(segmentTemplate('a@b.example')).toBe('{id}');
    for (const s of ['report-final.pdf', 'salaries.xlsx', 'users.json', 'openapi.json', 'index.php', 'v1.2', 'refund-policy']) expect(segmentTemplate(s), s).toBeNull();
    expect(templatePath('/rest/api/2/issue/SUP-976/comment')).toBe('/rest/api/{id}/issue/{id}/comment');
    expect(templatePath('/files/report.txt')).toBe('/files/report.txt');
  });
  it('replaces id segments and drops matrix parameters, keeps the rest', () => {
    expect(templatePath('/v1/users/42/orders')).toBe('/v1/users/{id}/orders');
    expect(templatePath('/cart;jsessionid=ABC123/items')).toBe('/cart/items');
    expect(templatePath('/plain/path')).toBe('/plain/path');
    expect(templatePath('relative/7')).toBe('/relative/{id}');
  });
  it('urlPath cuts query and fragment; urlHost drops userinfo and port', () => {
    expect(urlPath('https://h.example/a/b?secret=1#f')).toBe('/a/b');
    expect(urlPath('https://h.example')).toBe('/');
    expect(urlPath('/x?y=1')).toBe('/x');
    expect(urlHost('https://u:p@H.Example:8080/a')).toBe('h.example');
    expect(urlHost('http://[2001:db8::1]:80/a')).toBe('2001:db8::1');
    expect(urlHost('/relative')).toBeNull();
  });
  it('caps the work on very long paths', () => {
    expect(templatePath('/ab'.repeat(5000)).length).toBe(4096);
  });
});
