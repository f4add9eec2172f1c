/**
 * Model providers' inference endpoints (review38 M3). Several instrumentations do not parent the HTTP
 * call a model call makes (OpenInference Python, OpenLLMetry LangChain: their spans are never made
 * current), or name their model spans in a way no convention covers; left alone, each model call's POST
 * was an HTTP write to an external host, and a sensitive read before it a "sensitive read then egress to
 * api.openai.com". An HTTP call that no model span carries is a model call when it goes to a known
 * provider's host *and* one of its inference paths: the provider's other APIs (file uploads, fine-tuning
 * data) stay HTTP writes, and a look-alike path on any other host stays egress.
 */

/** Providers' API hosts, exactly. */
const PROVIDER_HOSTS = new Set([
  'api.openai.com', 'api.anthropic.com', 'generativelanguage.googleapis.com', 'aiplatform.googleapis.com',
  'api.mistral.ai', 'api.cohere.com', 'api.cohere.ai', 'api.groq.com', 'api.deepseek.com', 'api.together.xyz',
  'api.fireworks.ai', 'openrouter.ai', 'api.x.ai', 'api.perplexity.ai',
]);

/**
 * Providers' per-resource and per-region hosts, one DNS label where the resource or region goes (a `*` glob
 * would match dots too: an S3 bucket named `bedrock-runtime.x` is `bedrock-runtime.x.s3.amazonaws.com`,
 * review39 H1). An Azure resource name is anyone's to choose: tree.ts takes a call to one for a model call
 * only outside the identity's tools.
 */
const PROVIDER_HOST_PATTERNS = [
  /^[a-z0-9-]+\.openai\.azure\.com$/,
  /^[a-z0-9-]+\.services\.ai\.azure\.com$/,
  /^[a-z0-9-]+\.cognitiveservices\.azure\.com$/,
  /^[a-z]{2}(?:-[a-z]+)+-[0-9]-aiplatform\.googleapis\.com$/,
  /^bedrock-runtime(?:-fips)?\.[a-z]{2}(?:-gov)?-[a-z]+-[0-9]\.amazonaws\.com$/,
];

/**
 * Inference paths, by their last part: OpenAI-style `chat/completions`, `completions`, `embeddings`,
 * `responses` (Azure under `/openai/deployments/{id}/`), Anthropic `messages`, Gemini and Vertex
 * `:generateContent` / `:streamGenerateContent` / `:embedContent` / `:predict`, Bedrock `invoke`,
 * `invoke-with-response-stream`, `converse`, `converse-stream`, Cohere `chat`, `embed`, `rerank`.
 */
const INFERENCE_PATH =
  /\/(?:chat\/completions|completions|embeddings|responses|messages|invoke|invoke-with-response-stream|converse|converse-stream|chat|embed|rerank)$|:(?:generateContent|streamGenerateContent|embedContent|batchEmbedContents|predict)$/;

/** True when `host` (lower-cased) and `path` (not templated) are a provider's inference call. */
export function isModelEndpoint(host: string, path: string): boolean {
  if (!INFERENCE_PATH.test(path)) return false;
  return PROVIDER_HOSTS.has(host) || PROVIDER_HOST_PATTERNS.some((p) => p.test(host));
}
