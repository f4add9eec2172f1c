/**
 * Replays every captured framework fixture (`test/fixtures/frameworks/*.otlp.jsonl`) through the JSON
 * decoder and the ActionBuilder, in event time, and compares with the summary recorded beside it. The
 * live framework tests check what today's framework versions emit; these keep guarding what Vigil
 * makes of the recorded output even when a framework changes, is upgraded or cannot run.
 *
 * The `.expected.json` files are written from Vigil's own output when a live test records a fixture
 * (`keepFixture`), so each was read by hand against CONTRACT §3/§3.1 before it was kept (last: all six,
 * 2026-11-21): every tool takes the class of its calls, a failed call counts once (on the HTTP call,
 * never also on its tool), context-repaired calls are marked, and in `mcp` each of the four MCP requests
 * is a delegation into `files-mcp`, the transport's own requests (the event-stream GET refused by the
 * server, the `initialized` POST) stay unattributed, and `delete_file` takes the server's DELETE.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attributeFilterFor } from '../../src/actions/attributes.js';
import { ActionBuilder } from '../../src/actions/builder.js';
import { rejectReason } from '../../src/actions/identity.js';
import type { Action } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { decodeJsonRequest } from '../../src/receiver/otlp-json.js';
import { FIXTURES, summarize } from './harness.js';

const config = configSchema.parse({});
const filter = attributeFilterFor(config);
const names = fs.existsSync(FIXTURES)
  ? fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.otlp.jsonl')).map((f) => f.slice(0, -'.otlp.jsonl'.length))
  : [];

/** The replay path of `vigil replay`: decode, validate, buffer, take in event time, drain at the end. */
export function replay(file: string): Action[] {
  const builder = new ActionBuilder(config, () => {});
  const out: Action[] = [];
  let now = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const spans = decodeJsonRequest(line, filter).spans.filter((s) => rejectReason(s, Number.POSITIVE_INFINITY, config) === null);
    for (const s of spans) now = Math.max(now, s.startMs);
    builder.add(spans, now);
    out.push(...builder.take(now));
  }
  out.push(...builder.drain());
  return out;
}

describe('framework fixtures replay to the recorded actions', () => {
  it('there are fixtures to replay', () => {
    expect(names.length).toBeGreaterThan(0);
  });

  it.each(names)('%s', (name) => {
    const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.expected.json`), 'utf8'));
    expect(summarize(replay(path.join(FIXTURES, `${name}.otlp.jsonl`)))).toEqual(expected);
  });
});
