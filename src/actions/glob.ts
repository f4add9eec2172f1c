/**
 * The one glob dialect of the config (`zones`, `sensitive`, `catalog`): `*` matches any run of
 * characters, dots and slashes included; everything else is literal; matching is case-insensitive
 * (DNS names are, and a `*secret*` rule must not miss `GetSecret`). Patterns are compiled once at
 * start-up and matched without backtracking: the subjects come from spans.
 */

/** A compiled pattern. `test` expects its input already lower-cased (unless compiled case-sensitive). */
export interface Glob {
  readonly pattern: string;
  test(lowered: string): boolean;
}

class ExactGlob implements Glob {
  constructor(readonly pattern: string, private readonly text: string) {}
  test(s: string): boolean {
    return s === this.text;
  }
}

class PrefixGlob implements Glob {
  constructor(readonly pattern: string, private readonly text: string) {}
  test(s: string): boolean {
    return s.startsWith(this.text);
  }
}

class SuffixGlob implements Glob {
  constructor(readonly pattern: string, private readonly text: string) {}
  test(s: string): boolean {
    return s.endsWith(this.text);
  }
}

class InfixGlob implements Glob {
  constructor(readonly pattern: string, private readonly text: string) {}
  test(s: string): boolean {
    return s.includes(this.text);
  }
}

/**
 * Any other shape (`*.*.internal`, `vault-*-*.svc`): the literal parts in order, each found at its
 * leftmost place after the previous one. Greedy leftmost is exact for `*`, and each part is searched once;
 * a regular expression (`^a.*b.*c$`) backtracks, and a crafted 256-character host against
 * `*.*.*.*.internal` held the ingest worker for seconds per span (review25 F4).
 */
class PartsGlob implements Glob {
  private readonly first: string;
  private readonly last: string;
  private readonly middle: readonly string[];
  constructor(readonly pattern: string, text: string) {
    const parts = text.split('*');
    this.first = parts[0];
    this.last = parts[parts.length - 1];
    this.middle = parts.slice(1, -1).filter((p) => p !== '');
  }
  test(s: string): boolean {
    if (s.length < this.first.length + this.last.length || !s.startsWith(this.first) || !s.endsWith(this.last)) return false;
    const end = s.length - this.last.length;
    let at = this.first.length;
    for (const part of this.middle) {
      const found = s.indexOf(part, at);
      if (found < 0 || found + part.length > end) return false;
      at = found + part.length;
    }
    return true;
  }
}

/**
 * Compiles one glob. `caseSensitive`: for identities (clientIdentities), which Vigil keys as sent — a
 * case variant is another identity, so a pattern must not admit it (review25 F3). `test` then expects
 * its input as is.
 */
export function compileGlob(pattern: string, { caseSensitive = false }: { caseSensitive?: boolean } = {}): Glob {
  const p = (caseSensitive ? pattern : pattern.toLowerCase()).replace(/\*{2,}/g, '*');
  const stars = p.split('*').length - 1;
  if (stars === 0) return new ExactGlob(pattern, p);
  if (p === '*') return new PrefixGlob(pattern, '');
  const inner = p.slice(1, -1);
  if (stars === 1 && p.endsWith('*')) return new PrefixGlob(pattern, p.slice(0, -1));
  if (stars === 1 && p.startsWith('*')) return new SuffixGlob(pattern, p.slice(1));
  if (stars === 2 && p.startsWith('*') && p.endsWith('*') && inner !== '') return new InfixGlob(pattern, inner);
  return new PartsGlob(pattern, p);
}

/** Index of the first glob matching `subject` (any case), or -1. */
export function firstMatch(globs: readonly Glob[], subject: string): number {
  if (globs.length === 0) return -1;
  const s = matchable(subject);
  for (let i = 0; i < globs.length; i++) if (globs[i].test(s)) return i;
  return -1;
}

/** Characters that draw nothing (zero-width spaces and joiners, soft hyphen, direction marks, BOM). */
const INVISIBLE = /[\u00AD\u034F\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/g;

/** Lowercase Cyrillic and Greek letters drawn like Latin ones (the common confusables, not all of Unicode's). */
const LOOKALIKES: Readonly<Record<string, string>> = {
  а: 'a', в: 'b', е: 'e', һ: 'h', і: 'i', ј: 'j', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y',
  х: 'x', ѕ: 's', ԁ: 'd', ԛ: 'q', ԝ: 'w', ӏ: 'l', ɡ: 'g', α: 'a', β: 'b', ε: 'e', ι: 'i', κ: 'k', ν: 'v',
  ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x',
};

/**
 * A name as the config's globs see it: lowercase, and — when it holds anything but ASCII — with
 * compatibility forms folded (NFKC: fullwidth `ｓｅｃｒｅｔ`), invisible characters dropped and common
 * look-alike letters read as the Latin ones. A tool named `get_ѕecret` (a Cyrillic ѕ) or `get_se\u200Bcret`
 * would otherwise escape `*secret*` while looking, to an analyst, like the tool it imitates.
 */
function matchable(name: string): string {
  const s = name.toLowerCase();
  if (!/[^\x00-\x7f]/.test(s)) return s;
  return s.normalize('NFKC').toLowerCase().replace(INVISIBLE, '').replace(/[^\x00-\x7f]/g, (c) => LOOKALIKES[c] ?? c);
}
