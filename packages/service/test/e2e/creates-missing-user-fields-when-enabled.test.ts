import { afterEach, describe, expect, test } from 'vitest'

import type { Logger } from '../../src/delivery/worker.js'
import { startTestService, WRITE_KEY, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

/** A config file with one destination (the harness points it at the emulator) and the setting on. */
const createFieldsConfig = `
sources:
  - id: web
    writeKey: ${WRITE_KEY}
    destinations: [support]
destinations:
  - id: support
    zendesk: { sandbox: true }
    settings:
      createMissingUserFields: true
`

const traits = {
  email: 'ann@example.com',
  name: 'Ann',
  plan: 'pro',
  seats: 3,
  vip: true,
  renewal: '2027-01-31',
  'signup-source': 'ads',
}

const userBy = (state: any, email: string) => state.users.find((u: any) => u.email === email)

async function fieldPosts(t: TestService): Promise<number> {
  const log: any = await (
    await fetch(`${t.emulator.url}/__emulator/requests?path=/api/v2/user_fields`)
  ).json()
  return log.requests.filter((r: any) => r.method === 'POST').length
}

describe('missing user fields are created only when the destination enables it', () => {
  test('off (the default): no field is created and the user gets no such values', async () => {
    t = await startTestService()
    await t.post('/v1/identify', { userId: 'u1', traits })
    const ann = await t.waitFor(async () => userBy(await t!.state(), 'ann@example.com'))
    const state = await t.state()
    expect(state.user_fields).toEqual([])
    expect(ann.user_fields).toEqual({})
    expect(await fieldPosts(t)).toBe(0)
  })

  test('on: each field is created once, typed from the value, and the first identify already fills it', async () => {
    t = await startTestService({ configYaml: createFieldsConfig })
    await t.post('/v1/identify', { userId: 'u1', traits })
    const ann = await t.waitFor(async () => userBy(await t!.state(), 'ann@example.com'))
    const state = await t.state()
    expect(state.user_fields.map((f: any) => ({ key: f.key, type: f.type, title: f.title }))).toEqual([
      { key: 'plan', type: 'text', title: 'plan' },
      { key: 'seats', type: 'integer', title: 'seats' },
      { key: 'vip', type: 'checkbox', title: 'vip' },
      { key: 'renewal', type: 'date', title: 'renewal' },
      { key: 'signup_source', type: 'text', title: 'signup-source' },
    ])
    expect(ann.user_fields).toEqual({
      plan: 'pro',
      seats: 3,
      vip: true,
      renewal: '2027-01-31T00:00:00Z',
      signup_source: 'ads',
    })

    // A second identify (another person, same traits) reuses the fields.
    await t.post('/v1/identify', {
      userId: 'u2',
      traits: { ...traits, email: 'bob@example.com', name: 'Bob', plan: 'team', seats: 7 },
    })
    const bob = await t.waitFor(async () => userBy(await t!.state(), 'bob@example.com'))
    expect(bob.user_fields).toMatchObject({ plan: 'team', seats: 7, signup_source: 'ads' })
    expect((await t.state()).user_fields).toHaveLength(5)
    expect(await fieldPosts(t)).toBe(5)
  })

  test('on: a field that cannot be created is logged and left out; the user still arrives', async () => {
    const warnings: { obj: any; msg?: string | undefined }[] = []
    const log: Logger = { info: () => {}, warn: (obj, msg) => warnings.push({ obj, msg }), error: () => {} }
    t = await startTestService({
      configYaml: createFieldsConfig,
      emulator: {
        faults: [{ kind: 'status', status: 500, path: '/api/v2/user_fields', method: 'POST', count: 1 }],
      },
      deps: { log },
    })
    await t.post('/v1/identify', { userId: 'u1', traits: { ...traits, plan: 'confidential-plan' } })
    const ann = await t.waitFor(async () => userBy(await t!.state(), 'ann@example.com'))
    // The first creation (plan) failed; the others went through and carry their values.
    expect(ann.user_fields).toEqual({
      seats: 3,
      vip: true,
      renewal: '2027-01-31T00:00:00Z',
      signup_source: 'ads',
    })
    expect((await t.state()).user_fields.map((f: any) => f.key)).not.toContain('plan')
    const failure = warnings.find((w) => w.msg?.startsWith('could not create a user field'))
    expect(failure?.obj).toMatchObject({ destination: 'support', key: 'plan', status: 500 })
    expect(JSON.stringify(warnings)).not.toContain('confidential-plan')
  })
})
