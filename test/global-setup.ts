/**
 * Vitest global setup: before any test file runs, drops the `zdd_test_*` PostgreSQL databases
 * that crashed runs left behind (older than an hour, so that another run's live databases stay).
 * Best effort: without a PostgreSQL server the tests that need one report it themselves.
 */
import { dropStaleTestDatabases } from '../packages/service/test/pg.js'

export default async function setup(): Promise<void> {
  await dropStaleTestDatabases().catch(() => 0)
}
