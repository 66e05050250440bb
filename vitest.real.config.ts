import { defineConfig } from 'vitest/config';

/** Suites against real Postfix/Dovecot/Prometheus started by .ci/run (test/real/mailstack.sh). */
export default defineConfig({
  test: {
    include: ['test/real/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
