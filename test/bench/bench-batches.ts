/**
 * Pre-encoded OTLP/protobuf export batches for the end-to-end benchmark, with fresh trace ids per send.
 *
 * The daemon buffers spans by trace id and treats spans of an already emitted trace as late children, so
 * re-sending a batch verbatim would not be ordinary traffic. Each batch is encoded once; the byte offsets
 * of every trace id in it are found once (trace ids are random 16-byte values, so a byte search finds
 * exactly the `trace_id` fields); before each send `stamp` overwrites the first 8 bytes of every trace id
 * with (run nonce, send counter). The last 8 bytes stay the batch's random ones, so every trace of every
 * send has its own id, and the batch stays pre-encoded (no re-serialisation on the hot path).
 */
import { randomBytes } from 'node:crypto';
import { makeBenchBatch } from './decode-bench.js';

export interface BatchShape {
  batches: number;
  spansPerBatch: number;
  spansPerTrace: number;
  identities: number;
}

export interface StampedBatch {
  /** The encoded request; `stamp` rewrites it in place, so one send at a time per batch. */
  readonly buf: Buffer;
  readonly spans: number;
  readonly traces: number;
  /** Offsets of the first byte of every trace id occurrence, grouped per trace. */
  readonly traceIdOffsets: number[][];
}

/** Builds `shape.batches` distinct batches; batch b holds identities from b * tracesPerBatch on. */
export function buildBatches(shape: BatchShape, startMs: number): StampedBatch[] {
  const out: StampedBatch[] = [];
  const tracesPerBatch = Math.ceil(shape.spansPerBatch / shape.spansPerTrace);
  for (let b = 0; b < shape.batches; b++) {
    const { protobuf } = makeBenchBatch(1000 + b, shape.spansPerBatch, {
      spansPerTrace: shape.spansPerTrace,
      identities: shape.identities,
      identityOffset: b * tracesPerBatch,
      startMs,
    });
    const buf = Buffer.from(protobuf.buffer, protobuf.byteOffset, protobuf.byteLength);
    out.push({ buf, spans: shape.spansPerBatch, traces: tracesPerBatch, traceIdOffsets: findTraceIds(buf, shape) });
  }
  return out;
}

/**
 * Finds every span's `trace_id` field (Span field 1: tag 0x0a, length 0x10, 16 bytes) and groups the
 * offsets by id. Checks that each trace id occurs exactly once per span of its trace.
 */
function findTraceIds(buf: Buffer, shape: BatchShape): number[][] {
  // Candidate ids: every 16-byte value behind a 0x0a 0x10 pair. Payload bytes can contain that pair
  // by chance, so keep only values that occur spansPerTrace times (a random match will not).
  const seen = new Map<string, number[]>();
  const tag = Buffer.from([0x0a, 0x10]);
  for (let i = buf.indexOf(tag); i >= 0 && i + 18 <= buf.length; i = buf.indexOf(tag, i + 1)) {
    const key = buf.toString('hex', i + 2, i + 18);
    let list = seen.get(key);
    if (list === undefined) seen.set(key, (list = []));
    list.push(i + 2);
  }
  // Attribute keys of exactly 16 characters also sit behind 0x0a 0x10: drop printable-text candidates.
  const printable = (o: number) => buf.subarray(o, o + 16).every((c) => c >= 0x20 && c < 0x7f);
  const groups = [...seen.values()].filter((offsets) => offsets.length === shape.spansPerTrace && !printable(offsets[0]));
  const expected = Math.ceil(shape.spansPerBatch / shape.spansPerTrace);
  const found = groups.reduce((n, g) => n + g.length, 0);
  if (groups.length !== expected || found !== shape.spansPerBatch) {
    throw new Error(`trace id search found ${groups.length} traces / ${found} spans, expected ${expected} / ${shape.spansPerBatch}`);
  }
  // Every occurrence of each id must be one we found (no other copy of the id elsewhere in the batch).
  for (const g of groups) {
    const id = buf.subarray(g[0], g[0] + 16);
    let n = 0;
    for (let i = buf.indexOf(id); i >= 0; i = buf.indexOf(id, i + 1)) n++;
    if (n !== g.length) throw new Error(`trace id ${id.toString('hex')} occurs ${n} times, ${g.length} as trace_id`);
  }
  return groups;
}

/** Rewrites trace ids for one send: first 8 bytes = (nonce, counter). A nonce per run keeps runs apart. */
export class TraceIdStamper {
  private readonly nonce = (randomBytes(4).readUInt32BE(0) | 0x80000000) >>> 0; // never all zeros
  private counter = 0;

  stamp(batch: StampedBatch): void {
    const seq = ++this.counter >>> 0;
    const { buf } = batch;
    for (const offsets of batch.traceIdOffsets) {
      for (const o of offsets) {
        buf.writeUInt32BE(this.nonce, o);
        buf.writeUInt32BE(seq, o + 4);
      }
    }
  }
}

/**
 * `rejected_spans` of an ExportTraceServiceResponse (field 1 partial_success { 1: int64 rejected_spans,
 * 2: string error_message }); 0 for an empty response. Returns -1 when the bytes do not parse.
 */
export function rejectedSpans(resp: Uint8Array): number {
  let rejected = 0;
  let i = 0;
  const skip = (): void => {
    const n = varint(); // read the length first: `i += varint()` would add to the old i
    i += n;
  };
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (i >= resp.length) throw new Error('truncated');
      const b = resp[i++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  try {
    while (i < resp.length) {
      const tag = varint();
      if (tag === 0x0a) {
        const len = varint();
        const end = i + len;
        while (i < end) {
          const inner = varint();
          if (inner === 0x08) rejected = varint();
          else if ((inner & 7) === 2) skip();
          else if ((inner & 7) === 0) varint();
          else throw new Error('unexpected wire type');
        }
      } else if ((tag & 7) === 2) {
        skip();
      } else if ((tag & 7) === 0) {
        varint();
      } else {
        throw new Error('unexpected wire type');
      }
    }
  } catch {
    return -1;
  }
  return rejected;
}
