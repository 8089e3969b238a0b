import { defineConfig } from 'vitest/config';
import LongFirstSequencer from './test/sequencer.js';

// The API suite runs twice: on SQLite (the default store) and on the PostgreSQL that
// scripts/postgres-setup.sh starts (each server gets a fresh database of its own).
const PG = 'postgres://gantry:gantry@127.0.0.1:55432/postgres';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
    // The long conformance parts first (see test/sequencer.ts).
    sequence: { sequencer: LongFirstSequencer },
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: ['test/integration/server-api.test.ts', 'test/integration/server-replicas.test.ts', 'test/integration/server-replicas-pg.test.ts', 'test/server/queue.test.ts'],
          env: { GANTRY_TEST_PG: process.env.GANTRY_TEST_PG ?? PG },
        },
      },
    ],
  },
});
