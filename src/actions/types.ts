/** The action model: what Vigil judges. Built only by the actions module from DecodedSpans (CONTRACT §3). */

export const ACTION_KINDS = ['tool', 'delegation', 'http', 'db', 'rpc', 'messaging', 'model'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

/** Access classes, weakest first: a tool takes the strongest of its own and its descendants'. */
export const ACCESS_CLASSES = ['read', 'write', 'delete', 'execute'] as const;
export type Access = (typeof ACCESS_CLASSES)[number];
/** The classes that change something. */
export const WRITE_CLASSES = ['write', 'delete', 'execute'] as const satisfies readonly Access[];
export const isWrite = (a: Access | null): boolean => a !== null && a !== 'read';

export interface Credential {
  id: string;
  type: string | null;
}

export interface Action {
  /** Event time: span start, unix ms (fractional). */
  time: number;
  /** Span end, unix ms. */
  endTime: number;
  identity: string;
  peerGroup: string;
  kind: ActionKind;
  /** Tool name, invoked agent, `host/template`, `system/namespace/collection`, `system/method`, … */
  target: string;
  access: Access | null;
  /**
   * Destination host for http/db/rpc/messaging/model actions, and for tools and delegations made over the
   * network (an MCP server's, a remote agent's: `server.address` or their HTTP transport's); null for
   * in-process tools, local agents, identity hops, and calls that name no host.
   */
  host: string | null;
  /** Zone of `host` (config `zones`, else `external`); null when there is no destination. */
  zone: string | null;
  /** True when config `sensitive` marks this read (zone, tool or target) as sensitive. */
  sensitive: boolean;
  failed: boolean;
  retry: boolean;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  credential: Credential | null;
  scopes: string[];
  /** Name of the agent this action runs under (context only, never the identity), or null. */
  agent: string | null;
  /**
   * The identity whose task this work is, when another handed it over (the agent calling an MCP server;
   * over several hops, the outermost identity known: A for work C does for B on A's behalf), or null. Lets detectors treat a callee's actions
   * as delegated (CONTRACT §3.1). Optional only so hand-built test actions need not set it; the
   * ActionBuilder always does.
   */
  caller?: string | null;
  /**
   * Set by context repair (CONTRACT §3.1): the tool span this parentless or foreign-parented call was
   * attributed to. Its `traceId` may differ from the action's own (OpenInference LangChain puts a tool's
   * HTTP calls in traces of their own): "within a trace" reasoning should use
   * `attributedTo?.traceId ?? traceId`. Null when the call was where it belonged, or stayed on its own.
   */
  attributedTo?: { traceId: string; spanId: string } | null;
  /**
   * A tool takes the strongest access class below it, across identities (CONTRACT §3): when that class
   * came from another identity's span (a service's delete while serving the call), that identity. Its
   * unexpected_write says so and revokes nothing of the tool's identity. Optional like `caller`.
   */
  accessBy?: string | null;
  /**
   * A DB call whose span names no collection: the tables its statement text changes (`users`, several as
   * `notes+users`), judged by unexpected_write per table (review34 E2); never part of the target, which
   * CONTRACT §3 fixes as `system/namespace/collection`. Null otherwise; optional like `caller`.
   */
  table?: string | null;
  /**
   * A delegation found after its callee's spans (they were exported first and judged on the callee's own
   * clock): how far that clock was behind the caller's, in ms (review32 M2); 0 otherwise. Optional like `caller`.
   */
  calleeClockShiftMs?: number;
  /**
   * Not a call of its own: the stronger class an already emitted tool call took from work below it that
   * was exported after the tool was judged (review38 H2: an MCP server's delete, exported after the agent's
   * `tools/call`; review37 F3: the tool's own call in a later export). Judged by unexpected_write as the
   * tool with that class would have been, and only its access is learned: the call was counted when it
   * arrived. Optional like `caller`.
   */
  classOnly?: boolean;
  /**
   * A call made directly in its identity's entry span for a request from another traced identity: a SERVER
   * or CONSUMER span whose parent is another identity's span, or one not known (an MCP server's fetch while
   * serving a request; not a root span). In order it is made in the caller's hop into the identity, which
   * borrows the entry's span id. Exported before that hop it is a step until the hop takes it back, but no
   * transition between two such calls is judged: in order they are in hops (detect/steps.ts). Optional
   * like `caller`.
   */
  inEntrySpan?: boolean;
}

/** The JSON line `vigil replay --actions` prints (CONTRACT §1). */
export interface ActionLine {
  time: string;
  identity: string;
  peerGroup: string;
  kind: ActionKind;
  target: string;
  access: Access | null;
  zone: string | null;
  failed: boolean;
  retry: boolean;
  traceId: string;
  spanId: string;
}

/** The span an action was made in: the tool context repair attributed it to, else its parent. */
export function madeInSpan(a: Action): string {
  return a.attributedTo?.spanId ?? a.parentSpanId;
}

/** That span's trace (the task it belongs to): a call context repair attributed to a tool in another trace belongs to that trace. */
export function madeInTrace(a: Action): string {
  return a.attributedTo?.traceId ?? a.traceId;
}

export function toActionLine(a: Action): ActionLine {
  return {
    time: new Date(a.time).toISOString(),
    identity: a.identity,
    peerGroup: a.peerGroup,
    kind: a.kind,
    target: a.target,
    access: a.access,
    zone: a.zone,
    failed: a.failed,
    retry: a.retry,
    traceId: a.traceId,
    spanId: a.spanId,
  };
}
