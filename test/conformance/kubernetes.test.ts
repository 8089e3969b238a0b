// The conformance scenarios (./scenarios.ts) against the kubernetes target.
import { conformanceSuite } from './scenarios.js';

conformanceSuite('kubernetes');
