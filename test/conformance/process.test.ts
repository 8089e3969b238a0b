// The conformance scenarios (./scenarios.ts) against the process target.
import { conformanceSuite } from './scenarios.js';

conformanceSuite('process');
