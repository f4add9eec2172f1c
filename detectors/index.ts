/** The one explicit list of detectors. Adding one: a file beside this, a line here, an id in types.ts. */
import { lateralChaining } from './lateral-chaining.js';
import { retryStorm } from './retry-storm.js';
import { scopeDrift } from './scope-drift.js';
import type { Detector, DetectorId } from './types.js';
import { unexpectedWrite } from './unexpected-write.js';

export const DETECTORS = [scopeDrift, lateralChaining, retryStorm, unexpectedWrite] as const satisfies readonly Detector[];

/** Every detector id has exactly one detector. */
export const DETECTOR_BY_ID: Record<DetectorId, Detector> = Object.fromEntries(DETECTORS.map((d) => [d.id, d])) as Record<DetectorId, Detector>;

export type { Detector, DetectorId, Finding } from './types.js';
export { DETECTOR_IDS } from './types.js';
