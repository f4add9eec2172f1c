/**
 * What one span says on its own, before its trace tree is known: the output of the convention table
 * (conventions.ts) and the input of the trace buffer (builder.ts). Kept apart from both so neither
 * imports the other's values.
 */
import type { Access, ActionKind } from './types.js';

/**
 * Why a span yields no action, a fixed list counted in metrics (STYLE habit 6). `unknown_tool_name` is
 * the one exception: it is counted through the same callback, but the span still becomes a tool action
 * with target `unknown` (CONTRACT §3.1), so operators can see how much tool traffic is unnamed.
 */
export const IGNORE_REASONS = [
  /** A SERVER span: an inbound request is the identity being called, never its own action. */
  'server_span',
  /** An agent span that is the agent's own task: outermost, or nested under an agent of the same name. */
  'agent_task',
  /** Framework structure: gen_ai agent_step/workflow, traceloop task/workflow/session, OpenInference CHAIN… */
  'workflow_step',
  /** A `gen_ai.operation.name` Vigil does not know. */
  'unknown_operation',
  /** No convention recognises the span (plain INTERNAL spans, CLIENT spans of unknown protocols). */
  'not_an_action',
  /** An HTTP span carrying a call already counted (model, DB, RPC, messaging, MCP, remote agent, HTTP). */
  'transport_span',
  /** A tool span directly inside a tool span of the same name: two instrumentations of one call. */
  'nested_tool_span',
  /** A span id already seen in its trace (an exporter re-sent a batch). */
  'duplicate_span',
  /** Counted only: a tool call without a usable name, still emitted as tool `unknown`. */
  'unknown_tool_name',
] as const;
/** One of `IGNORE_REASONS`. */
export type IgnoreReason = (typeof IGNORE_REASONS)[number];

/**
 * How a span treats HTTP CLIENT spans directly beneath it (a plain object, not a `const enum`, so
 * per-file transpilers and tsc agree).
 */
export const Carrier = {
  /** Its HTTP children are actions of their own. */
  None: 0,
  /** Its HTTP children are its transport (model, DB, RPC, messaging, MCP client, remote agent call). */
  Any: 1,
  /** HTTP children to the same host are a second instrumentation layer of the same request. */
  SameHost: 2,
} as const;
export type Carrier = (typeof Carrier)[keyof typeof Carrier];

/** A span's own facts. One object per span; `conventions.ts` fills it in place. */
export interface SpanFacts {
  /** Action kind, or null when the span is not an action on its own (see `ignore`). */
  kind: ActionKind | null;
  /** Why it is not an action (provisional `agent_task` for agent spans: the tree may make it a delegation). */
  ignore: IgnoreReason | null;
  target: string;
  access: Access | null;
  /** Lower-cased destination host, or null. */
  host: string | null;
  failed: boolean;
  /** Retry known from the span alone (`http.request.resend_count` > 0). */
  retry: boolean;
  /** Tool call id (`gen_ai.tool.call.id`, `ai.toolCall.id`), or null. */
  callId: string | null;
  /** Non-null when the span is an agent span (§3.1 agent row): the agent's name, context for descendants. */
  agentName: string | null;
  /** True when the tool had no usable name (target `unknown`). */
  unknownTool: boolean;
  carrier: Carrier;
  /** A DB span naming no collection: the tables its statement changes (statement.ts), else null. */
  table: string | null;
  /** An HTTP call to a model provider's inference endpoint (model-endpoints.ts): tree.ts decides if it is a model call. */
  modelEndpoint: boolean;
}
