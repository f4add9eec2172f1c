/**
 * Operators' target templates (`templates` in the config): targets matching one of these globs are that
 * one target, the glob as written. For objects named by slugs or by people (`/kb/articles/refund-policy-uk`,
 * `/files/report-final.pdf`), which no id rule can tell from routes (review38 H1: a target, and a
 * new-target alert, per article read), when the instrumentation sets no `url.template`.
 */
import type { Config } from '../config/schema.js';
import { Memo } from '../collections/memo.js';
import { compileGlob, firstMatch } from './glob.js';

/** The template a target falls under, or null; memoised (targets repeat span after span). */
export function compileTemplates(config: Config): (target: string) => string | null {
  const patterns = config.templates;
  if (patterns.length === 0) return () => null;
  const globs = patterns.map((p) => compileGlob(p));
  const memo = new Memo<string | null>(4096);
  return (target) => {
    const hit = memo.get(target);
    if (hit !== undefined) return hit;
    const i = firstMatch(globs, target);
    const template = i < 0 ? null : patterns[i];
    memo.set(target, template);
    return template;
  };
}
