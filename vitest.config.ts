import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration suites start real PostgreSQL/MariaDB/etcd servers: give them room, and keep
    // the number of files running at once low on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
