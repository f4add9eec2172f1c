/**
 * Every attribute key Vigil reads, and the filter decoders apply while decoding (CONTRACT §3, §3.1).
 * This is the one file that spells attribute names: the rest of the code imports these constants, so a
 * convention that renames a key is fixed here, and `ATTRIBUTE_FILTER` cannot drift from what is read.
 *
 * Privacy: prompts, messages, tool arguments and results never enter the filter, so a decoder skips
 * them and they never reach memory beyond the request buffer. `PAYLOAD_KEYS` / `isPayloadKey` name them
 * so tests (and `attributeFilterFor`) can prove it.
 */
import type { Config } from '../config/schema.js';

// Project attributes (namespace `nhi.`), used where no convention exists.
const NHI_IDENTITY = 'nhi.identity';
export const NHI_ACCESS = 'nhi.access';
export const NHI_CREDENTIAL_ID = 'nhi.credential.id';
export const NHI_CREDENTIAL_TYPE = 'nhi.credential.type';
export const NHI_SCOPES = 'nhi.scopes';
const SERVICE_NAME = 'service.name';

// OpenTelemetry GenAI conventions.
export const GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
export const GEN_AI_TOOL_CALL_ID = 'gen_ai.tool.call.id';
export const GEN_AI_AGENT_ID = 'gen_ai.agent.id';
export const GEN_AI_AGENT_NAME = 'gen_ai.agent.name';
export const GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
/** Older name of `gen_ai.provider.name`; the Vercel AI SDK sets it to `provider.api` (`openai.chat`). */
export const GEN_AI_SYSTEM = 'gen_ai.system';

// OpenInference (Arize: LangChain, OpenAI Agents, LlamaIndex, …).
export const OPENINFERENCE_SPAN_KIND = 'openinference.span.kind';
export const TOOL_NAME = 'tool.name';
export const GRAPH_NODE_ID = 'graph.node.id';
/**
 * OpenInference's run metadata, a JSON string. Kept only to read `lc_agent_name` from it (an agent
 * span marker, §3.1); it holds run bookkeeping (thread ids, graph steps), not prompts.
 */
export const METADATA = 'metadata';
export const LLM_PROVIDER = 'llm.provider';
export const LLM_SYSTEM = 'llm.system';

// OpenLLMetry / Traceloop.
export const TRACELOOP_SPAN_KIND = 'traceloop.span.kind';
export const TRACELOOP_ENTITY_NAME = 'traceloop.entity.name';
/** OpenLLMetry's model-call marker (`chat`, `completion`, `embedding`, `rerank`): its LLM spans set no operation name. */
export const LLM_REQUEST_TYPE = 'llm.request.type';

// Vercel AI SDK (≤ 6).
export const AI_OPERATION_ID = 'ai.operationId';
export const AI_TOOL_CALL_NAME = 'ai.toolCall.name';
export const AI_TOOL_CALL_ID = 'ai.toolCall.id';
export const AI_TELEMETRY_FUNCTION_ID = 'ai.telemetry.functionId';
export const AI_MODEL_PROVIDER = 'ai.model.provider';

// Model Context Protocol.
export const MCP_METHOD_NAME = 'mcp.method.name';
/** The resource a `resources/read` reads (`file:///srv/hr/salaries.csv`): what the agent read through the server. */
export const MCP_RESOURCE_URI = 'mcp.resource.uri';

// HTTP (stable names, then the pre-1.23 names many instrumentations still emit by default).
export const HTTP_REQUEST_METHOD = 'http.request.method';
export const HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const HTTP_REQUEST_RESEND_COUNT = 'http.request.resend_count';
export const URL_FULL = 'url.full';
export const URL_TEMPLATE = 'url.template';
export const URL_PATH = 'url.path';
export const SERVER_ADDRESS = 'server.address';
export const HTTP_METHOD_OLD = 'http.method';
export const HTTP_STATUS_CODE_OLD = 'http.status_code';
export const HTTP_URL_OLD = 'http.url';
/** Old `http.target`: path and query; the query is cut off before anything is kept. */
export const HTTP_TARGET_OLD = 'http.target';
export const HTTP_HOST_OLD = 'http.host';
export const NET_PEER_NAME_OLD = 'net.peer.name';

// Databases.
export const DB_SYSTEM_NAME = 'db.system.name';
export const DB_SYSTEM_OLD = 'db.system';
export const DB_NAMESPACE = 'db.namespace';
export const DB_NAME_OLD = 'db.name';
export const DB_COLLECTION_NAME = 'db.collection.name';
export const DB_SQL_TABLE_OLD = 'db.sql.table';
export const DB_MONGODB_COLLECTION_OLD = 'db.mongodb.collection';
export const DB_OPERATION_NAME = 'db.operation.name';
export const DB_OPERATION_OLD = 'db.operation';
/** Low-cardinality summary (`SELECT users`); its first word is the verb. */
export const DB_QUERY_SUMMARY = 'db.query.summary';
/**
 * Query text (new and old names). Read only for its leading verb when no operation name is given; the
 * statement itself is never copied into an action or held in the trace buffer.
 */
export const DB_QUERY_TEXT = 'db.query.text';
export const DB_STATEMENT_OLD = 'db.statement';

// RPC.
export const RPC_SYSTEM_NAME = 'rpc.system.name';
export const RPC_SYSTEM_OLD = 'rpc.system';
export const RPC_METHOD = 'rpc.method';
export const RPC_SERVICE_OLD = 'rpc.service';
export const RPC_GRPC_STATUS_CODE = 'rpc.grpc.status_code';
export const RPC_RESPONSE_STATUS_CODE = 'rpc.response.status_code';
/** The name CONTRACT §3 uses; no instrumentation we know sets it, but it costs nothing to honour. */
export const RPC_STATUS_CODE = 'rpc.status_code';

// Messaging.
export const MESSAGING_SYSTEM = 'messaging.system';
export const MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const MESSAGING_DESTINATION_TEMPLATE = 'messaging.destination.template';
export const MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const MESSAGING_OPERATION_OLD = 'messaging.operation';
/** Pre-1.17 name of `messaging.destination.name`; the AWS SDK instrumentation still sets it for SQS. */
export const MESSAGING_DESTINATION_OLD = 'messaging.destination';

// AWS SDK resources (the resource an RPC call acts on; names and ARNs, never object keys or items).
export const AWS_S3_BUCKET = 'aws.s3.bucket';
export const AWS_DYNAMODB_TABLE_NAMES = 'aws.dynamodb.table_names';
export const AWS_SQS_QUEUE_URL = 'aws.sqs.queue.url';
export const AWS_SNS_TOPIC_ARN = 'aws.sns.topic.arn';
export const AWS_KINESIS_STREAM_NAME = 'aws.kinesis.stream_name';
export const AWS_SECRETSMANAGER_SECRET_ARN = 'aws.secretsmanager.secret.arn';
export const AWS_STEPFUNCTIONS_STATE_MACHINE_ARN = 'aws.stepfunctions.state_machine.arn';
export const AWS_STEPFUNCTIONS_ACTIVITY_ARN = 'aws.stepfunctions.activity.arn';
/** The function a FaaS client call invokes (the AWS SDK's Lambda `Invoke`). */
export const FAAS_INVOKED_NAME = 'faas.invoked_name';

// Outcome.
export const ERROR_TYPE = 'error.type';

/**
 * Payload attributes (CONTRACT §3 Privacy): never kept, stored, logged or echoed. Exact keys; see
 * `PAYLOAD_KEY_PREFIXES` for the families.
 */
export const PAYLOAD_KEYS: readonly string[] = Object.freeze([
  'gen_ai.tool.call.arguments',
  'gen_ai.tool.call.result',
  'gen_ai.input.messages',
  'gen_ai.output.messages',
  'gen_ai.system_instructions',
  'gen_ai.tool.definitions',
  'gen_ai.prompt',
  'gen_ai.completion',
  'ai.toolCall.args',
  'ai.toolCall.result',
  'ai.prompt',
  'ai.prompt.messages',
  'ai.prompt.tools',
  'ai.response.text',
  'ai.response.toolCalls',
  'input.value',
  'output.value',
  'traceloop.entity.input',
  'traceloop.entity.output',
]);

/** Payload key families: any key starting with one of these is payload. */
const PAYLOAD_KEY_PREFIXES: readonly string[] = Object.freeze([
  'ai.prompt',
  'ai.response.',
  'llm.input_messages.',
  'llm.output_messages.',
  'llm.prompts',
  'gen_ai.prompt.',
  'gen_ai.completion.',
]);

const PAYLOAD_EXACT = new Set(PAYLOAD_KEYS);

/** True when `key` names a prompt, message, tool argument or result (never to be kept). */
export function isPayloadKey(key: string): boolean {
  if (PAYLOAD_EXACT.has(key)) return true;
  for (const prefix of PAYLOAD_KEY_PREFIXES) if (key.startsWith(prefix)) return true;
  return false;
}

/** Every key the actions module reads from span or resource attributes (both use the same filter). */
export const ATTRIBUTE_FILTER: ReadonlySet<string> = new Set<string>([
  NHI_IDENTITY, NHI_ACCESS, NHI_CREDENTIAL_ID, NHI_CREDENTIAL_TYPE, NHI_SCOPES, SERVICE_NAME,
  GEN_AI_OPERATION_NAME, GEN_AI_TOOL_NAME, GEN_AI_TOOL_CALL_ID, GEN_AI_AGENT_ID, GEN_AI_AGENT_NAME,
  GEN_AI_PROVIDER_NAME, GEN_AI_SYSTEM,
  OPENINFERENCE_SPAN_KIND, TOOL_NAME, GRAPH_NODE_ID, METADATA, LLM_PROVIDER, LLM_SYSTEM,
  TRACELOOP_SPAN_KIND, TRACELOOP_ENTITY_NAME, LLM_REQUEST_TYPE,
  AI_OPERATION_ID, AI_TOOL_CALL_NAME, AI_TOOL_CALL_ID, AI_TELEMETRY_FUNCTION_ID, AI_MODEL_PROVIDER,
  MCP_METHOD_NAME, MCP_RESOURCE_URI,
  HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, HTTP_REQUEST_RESEND_COUNT, URL_FULL, URL_TEMPLATE, URL_PATH,
  SERVER_ADDRESS, HTTP_METHOD_OLD, HTTP_STATUS_CODE_OLD, HTTP_URL_OLD, HTTP_TARGET_OLD, HTTP_HOST_OLD,
  NET_PEER_NAME_OLD,
  DB_SYSTEM_NAME, DB_SYSTEM_OLD, DB_NAMESPACE, DB_NAME_OLD, DB_COLLECTION_NAME, DB_SQL_TABLE_OLD,
  DB_MONGODB_COLLECTION_OLD, DB_OPERATION_NAME, DB_OPERATION_OLD, DB_QUERY_SUMMARY, DB_QUERY_TEXT,
  DB_STATEMENT_OLD,
  RPC_SYSTEM_NAME, RPC_SYSTEM_OLD, RPC_METHOD, RPC_SERVICE_OLD, RPC_GRPC_STATUS_CODE, RPC_RESPONSE_STATUS_CODE,
  RPC_STATUS_CODE,
  MESSAGING_SYSTEM, MESSAGING_DESTINATION_NAME, MESSAGING_DESTINATION_TEMPLATE, MESSAGING_OPERATION_TYPE,
  MESSAGING_OPERATION_OLD, MESSAGING_DESTINATION_OLD,
  AWS_S3_BUCKET, AWS_DYNAMODB_TABLE_NAMES, AWS_SQS_QUEUE_URL, AWS_SNS_TOPIC_ARN, AWS_KINESIS_STREAM_NAME,
  AWS_SECRETSMANAGER_SECRET_ARN, AWS_STEPFUNCTIONS_STATE_MACHINE_ARN, AWS_STEPFUNCTIONS_ACTIVITY_ARN, FAAS_INVOKED_NAME,
  ERROR_TYPE,
]);

/** Splits an `identity.chain` / `identity.peerGroup` entry (`span:<key>` / `resource:<key>`). */
export function parseAttributeSource(source: string): { fromSpan: boolean; key: string } {
  const colon = source.indexOf(':');
  return { fromSpan: source.slice(0, colon) === 'span', key: source.slice(colon + 1) };
}

/**
 * The filter for a given config: `ATTRIBUTE_FILTER` plus the keys `identity.chain` and
 * `identity.peerGroup` name. A payload key named there is still left out: privacy wins over a
 * misconfiguration (such spans then have no identity and are rejected with `no_identity`).
 */
export function attributeFilterFor(config: Config): Set<string> {
  const filter = new Set(ATTRIBUTE_FILTER);
  for (const source of [...config.identity.chain, config.identity.peerGroup]) {
    const { key } = parseAttributeSource(source);
    if (!isPayloadKey(key)) filter.add(key);
  }
  return filter;
}
