/**
 * The layer rules of docs/architecture.md are enforced by ESLint: these cases prove that a wrong
 * import is an error and a right one is not.
 */
import { ESLint } from 'eslint'
import { describe, expect, test } from 'vitest'

const root = new URL('..', import.meta.url).pathname

const eslint = new ESLint({
  cwd: root,
  // Only the boundary rules, without type information, so virtual files can be linted.
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports' || ruleId === 'no-restricted-globals',
})

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${file}` })
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? ''}: ${m.message}`)
}

describe('import boundaries', () => {
  test.each([
    ['packages/service/src/actions/upsert-user/upsert-user.ts', "import { x } from '../../queue/queue.js'"],
    [
      'packages/service/src/actions/upsert-user/upsert-user.ts',
      "import { x } from '../../delivery/worker.js'",
    ],
    ['packages/service/src/zendesk/client.ts', "import { x } from '../queue/queue.js'"],
    ['packages/service/src/queue/sqlite-queue.ts', "import { x } from '../zendesk/client.js'"],
    ['packages/service/src/lib/backoff.ts', "import { x } from '../errors.js'"],
    ['packages/service/src/http/ingest/routes.ts', "import { x } from '../../delivery/worker.js'"],
    ['packages/service/src/delivery/worker.ts', "import { x } from '../config.js'"],
    ['packages/service/src/delivery/worker.ts', "import { x } from '@zdd/zendesk-emulator'"],
    ['packages/zendesk-emulator/src/routes/users.ts', "import { x } from '@zdd/service'"],
    ['packages/service/src/queue/pg-queue.ts', "import { x } from '../db/open-backend.js'"],
    ['packages/service/src/cluster/pg-leases.ts', "import { x } from '../queue/queue.js'"],
    ['packages/service/src/delivery/worker.ts', "import { x } from '../cluster/lease.js'"],
    ['packages/service/src/db/open-backend.ts', "import { x } from '../delivery/worker.js'"],
  ])('%s may not: %s', async (file, code) => {
    expect((await problems(file, code)).join('\n')).toMatch(/no-restricted-imports/)
  })

  test.each([
    ['packages/service/src/actions/upsert-user/upsert-user.ts', "import { x } from '../../zendesk/users.js'"],
    ['packages/service/src/delivery/worker.ts', "import { x } from '../queue/queue.js'"],
    ['packages/service/src/queue/sqlite-queue.ts', "import { x } from './queue.js'"],
    ['packages/service/src/main.ts', "import { x } from '@zdd/zendesk-emulator'"],
    ['packages/service/src/queue/pg-queue.ts', "import { x } from '../db/pg.js'"],
    ['packages/service/src/cluster/pg-leases.ts', "import { x } from '../db/pg.js'"],
    ['packages/service/src/db/open-backend.ts', "import { x } from '../queue/sqlite-queue.js'"],
  ])('%s may: %s', async (file, code) => {
    expect(await problems(file, code)).toEqual([])
  })

  test('only main.ts and config.ts touch process', async () => {
    expect(
      (await problems('packages/service/src/delivery/worker.ts', 'export const a = process.env.X')).join(),
    ).toMatch(/no-restricted-globals/)
    expect(await problems('packages/service/src/config.ts', 'export const a = process.env.X')).toEqual([])
  })
})
