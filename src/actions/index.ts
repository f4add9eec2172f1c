/**
 * The actions module: spans -> actions (CONTRACT §3). The one place in the codebase that reads
 * attribute names. Receivers use `attributeFilterFor` (decode only what is read) and `rejectReason`
 * (OTLP partial success); the pipeline uses `ActionBuilder`.
 */
export {
  ATTRIBUTE_FILTER,
  PAYLOAD_KEYS,
  PAYLOAD_KEY_PREFIXES,
  attributeFilterFor,
  isPayloadKey,
} from './attributes.js';
export { REJECT_REASONS, rejectReason, resolveIdentity, type RejectReason } from './identity.js';
export { IGNORE_REASONS, type IgnoreReason } from './facts.js';
export { Classifier } from './classify.js';
export { CONVENTIONS, type Convention } from './conventions.js';
export { compileZones, compileSensitive, EXTERNAL_ZONE, type ZoneMap, type SensitiveRules } from './zones.js';
export { compileGlob, type Glob } from './glob.js';
export { ActionBuilder } from './builder.js';
export * from './types.js';
