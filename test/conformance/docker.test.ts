// The conformance scenarios (./scenarios.ts) against the docker target.
import { conformanceSuite } from './scenarios.js';

conformanceSuite('docker');
