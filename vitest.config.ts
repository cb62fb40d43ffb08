import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    // Tests run the workspace packages from source (the `source` export condition).
    alias: {
      '@zdd/zendesk-emulator': fileURLToPath(
        new URL('./packages/zendesk-emulator/src/index.ts', import.meta.url),
      ),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // Drops PostgreSQL test databases that crashed runs left (test/global-setup.ts).
    globalSetup: [fileURLToPath(new URL('./test/global-setup.ts', import.meta.url))],
    // The JSON report is what .ci/run reads to print "N passed, N failed".
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-report.json' },
    // Generous: CI machines are shared; a test that passes is not slowed by it.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Every test talks to loopback only; nothing here may reach a real Zendesk.
    env: { NO_PROXY: '*' },
  },
})
