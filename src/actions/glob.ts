/**
 * The one glob dialect of the config (`zones`, `sensitive`, `catalog`): `*` matches any run of
 * characters, dots and slashes included; everything else is literal; matching is case-insensitive
 * (DNS names are, and a `*secret*` rule must not miss `GetSecret`). Patterns are compiled once at
 * start-up; the common shapes (`literal`, `prefix*`, `*suffix`, `*infix*`) avoid regular expressions.
 */

/** A compiled pattern. `test` expects its input already lower-cased. */
export interface Glob {
  readonly pattern: string;
  test(lowered: string): boolean;
}

const REGEX_SPECIAL = /[.+?^${}()|[\]\\]/g;

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

class RegexGlob implements Glob {
  private readonly re: RegExp;
  constructor(readonly pattern: string, lowered: string) {
    const body = lowered
      .split('*')
      .map((part) => part.replace(REGEX_SPECIAL, '\\$&'))
      .join('.*');
    // `s` flag: a `*` must also cross newlines, or a crafted name could slip past a deny pattern.
    this.re = new RegExp(`^${body}$`, 's');
  }
  test(s: string): boolean {
    return this.re.test(s);
  }
}

/** Compiles one glob. */
export function compileGlob(pattern: string): Glob {
  const p = pattern.toLowerCase().replace(/\*{2,}/g, '*');
  const stars = p.split('*').length - 1;
  if (stars === 0) return new ExactGlob(pattern, p);
  if (p === '*') return new PrefixGlob(pattern, '');
  const inner = p.slice(1, -1);
  if (stars === 1 && p.endsWith('*')) return new PrefixGlob(pattern, p.slice(0, -1));
  if (stars === 1 && p.startsWith('*')) return new SuffixGlob(pattern, p.slice(1));
  if (stars === 2 && p.startsWith('*') && p.endsWith('*') && inner !== '') return new InfixGlob(pattern, inner);
  return new RegexGlob(pattern, p);
}

/** Index of the first glob matching `subject` (any case), or -1. */
export function firstMatch(globs: readonly Glob[], subject: string): number {
  if (globs.length === 0) return -1;
  const s = subject.toLowerCase();
  for (let i = 0; i < globs.length; i++) if (globs[i].test(s)) return i;
  return -1;
}

/**
 * A small bounded memo for pure string -> value lookups over low-cardinality subjects (hosts, tool
 * names). When full it is cleared rather than evicted one by one: cheap, and a high-cardinality
 * flood (random hosts) costs recomputation, never memory.
 */
export class Memo<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly cap: number) {}
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  set(key: string, value: V): void {
    if (this.map.size >= this.cap) this.map.clear();
    this.map.set(key, value);
  }
}
