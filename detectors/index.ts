/** The one explicit list of detectors. Adding one: a file beside this, a line here, an id in types.ts. */
import { lateralChaining } from './lateral-chaining.js';
import { retryStorm } from './retry-storm.js';
import { scopeDrift } from './scope-drift.js';
import type { Detector } from './types.js';
import { unexpectedWrite } from './unexpected-write.js';

export const DETECTORS = [scopeDrift, lateralChaining, retryStorm, unexpectedWrite] as const satisfies readonly Detector[];
