// The conformance scenarios (./scenarios.ts) against the ssh target.
import { conformanceSuite } from './scenarios.js';

conformanceSuite('ssh');
