/**
 * Model providers' inference endpoints (review38 M3). Several instrumentations do not parent the HTTP
 * call a model call makes (OpenInference Python, OpenLLMetry LangChain: their spans are never made
 * current), or name their model spans in a way no convention covers; left alone, each model call's POST
 * was an HTTP write to an external host, and a sensitive read before it a "sensitive read then egress to
 * api.openai.com". An HTTP call that no model span carries is a model call when it goes to a known
 * provider's host *and* one of its inference paths: the provider's other APIs (file uploads, fine-tuning
 * data) stay HTTP writes, and a look-alike path on any other host stays egress.
 */
import { compileGlob } from './glob.js';

const PROVIDER_HOSTS = [
  'api.openai.com', '*.openai.azure.com', '*.services.ai.azure.com', '*.cognitiveservices.azure.com',
  'api.anthropic.com', 'generativelanguage.googleapis.com', '*-aiplatform.googleapis.com', 'aiplatform.googleapis.com',
  'bedrock-runtime.*.amazonaws.com', 'api.mistral.ai', 'api.cohere.com', 'api.cohere.ai', 'api.groq.com',
  'api.deepseek.com', 'api.together.xyz', 'api.fireworks.ai', 'openrouter.ai', 'api.x.ai', 'api.perplexity.ai',
].map((p) => compileGlob(p));

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
  return PROVIDER_HOSTS.some((g) => g.test(host));
}
