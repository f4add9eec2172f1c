import { describe, expect, it } from 'vitest';
import { boundName, MAX_NAME_CHARS } from '../../src/actions/bounds.js';
import { scopesOf } from '../../src/actions/node.js';

describe('name bounds', () => {
  it('keeps a name up to MAX_NAME_CHARS as it is', () => {
    const name = 'x'.repeat(MAX_NAME_CHARS);
    expect(boundName(name)).toBe(name);
    expect(boundName('crm.search')).toBe('crm.search');
  });

  it('bounds a longer one to its start and a digest: the same every time, distinct for distinct names', () => {
    const a = 'tool.' + 'a'.repeat(5000) + '1';
    const b = 'tool.' + 'a'.repeat(5000) + '2';
    expect(boundName(a).length).toBeLessThanOrEqual(MAX_NAME_CHARS);
    expect(boundName(a)).toMatch(/^tool\.a+…[0-9a-f]{16}$/);
    expect(boundName(a)).toBe(boundName(a));
    expect(boundName(a)).not.toBe(boundName(b));
  });

  it('never splits a surrogate pair at the cut (that would store invalid UTF-8)', () => {
    for (let pad = 0; pad < 4; pad++) {
      const name = 'x'.repeat(pad) + '😀'.repeat(MAX_NAME_CHARS);
      expect(boundName(name).isWellFormed()).toBe(true);
    }
  });

  it('keeps at most 64 scopes, each bounded', () => {
    const scopes = scopesOf(Array.from({ length: 10_000 }, (_, i) => `scope-${i}-${'s'.repeat(i === 0 ? 1000 : 1)}`))!;
    expect(scopes).toHaveLength(64);
    expect(scopes[0].length).toBeLessThanOrEqual(MAX_NAME_CHARS);
    expect(scopes[1]).toBe('scope-1-s');
    expect(scopesOf('a b,c')).toEqual(['a', 'b', 'c']);
  });
});
