/**
 * `POST /v1/identities/{identity}/allow` (and `vigil baseline allow`) refuse an item whose form can never
 * match what the baseline counts: the operator would be told it was allowed while the alert went on.
 */
import { describe, expect, it } from 'vitest';
import { accessItem, flowItem, stepName, transitionItem } from '../../baselines/keys.js';
import { parseAllow } from '../../src/api/identities.js';

describe('parseAllow', () => {
  it.each([
    ['access', accessItem('crm.delete_customer', 'delete')],
    ['access', accessItem('reports.internal/reports/{id}', 'write')],
    ['access', accessItem('a|b', 'read')],
    ['transition', transitionItem(stepName('tool', 'crm.search'), stepName('delegation', 'billing'))],
    ['flow', flowItem('vault.read', 'paste.example.com')],
    // Names from spans may hold the separators themselves.
    ['transition', transitionItem(stepName('tool', 'route a -> b'), stepName('tool', 'x'))],
    ['transition', transitionItem(stepName('tool', 'x'), stepName('http', 'api.example.com/a -> b'))],
    ['flow', flowItem('kb.read => cache', 'paste.example.com')],
    ['tool', 'crm.search'],
    ['host', 'api.example.com'],
  ])('accepts %s %s, in the form the baseline keys it', (dimension, item) => {
    expect(parseAllow({ dimension, item })).toEqual([{ dimension, item }]);
  });

  it.each([
    ['access', 'crm.delete_customer', 'SUBJECT|CLASS'],
    ['access', 'crm.delete_customer|modify', 'read, write, delete, execute'],
    ['access', '|delete', 'SUBJECT|CLASS'],
    ['transition', 'crm.search -> vault.read', 'KIND:TARGET -> KIND:TARGET'],
    ['transition', 'tool:a', 'KIND:TARGET'],
    ['transition', 'gadget:a -> tool:b', 'tool, delegation, http'],
    ['flow', 'vault.read -> paste.example.com', 'SOURCE => HOST'],
    ['flow', ' => paste.example.com', 'SOURCE => HOST'],
    ['flow', 'vault.read => ', 'SOURCE => HOST'],
  ])('refuses %s %j, naming the form', (dimension, item, named) => {
    expect(() => parseAllow({ items: [{ dimension: 'tool', item: 'x' }, { dimension, item }] })).toThrow(`items[1].item: `);
    expect(() => parseAllow({ dimension, item })).toThrow(named);
  });

  it('takes the longest item an action can make (two steps naming 2048-character identities); says so past it', () => {
    const identity = `spiffe://acme.example/${'a'.repeat(2026)}`;
    const item = transitionItem(stepName('delegation', identity), stepName('delegation', identity));
    expect(parseAllow({ dimension: 'transition', item })).toEqual([{ dimension: 'transition', item }]);
    expect(() => parseAllow({ dimension: 'tool', item: 'x'.repeat(60_000) })).toThrow('items[0].item: must be at most 4160 characters (it has 60000)');
    expect(() => parseAllow({ dimension: 'tool', item: '' })).toThrow('items[0].item: must be a non-empty string');
  });
});
