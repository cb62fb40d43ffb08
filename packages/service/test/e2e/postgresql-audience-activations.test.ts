/**
 * With DATABASE_URL, audience activation data lives in PostgreSQL with the rest of the state: two
 * nodes on one database show the same counts whichever delivered, and a mirror snapshot sent to
 * the node that did not deliver still finds the members that the snapshot lacks.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'

import { startTestService, WRITE_KEY, type TestService } from '../harness.js'
import { createTestDatabase, type TestDatabase } from '../pg.js'

let db: TestDatabase
const nodes: TestService[] = []

beforeAll(async () => {
  db = await createTestDatabase('zdd_test_e2e_aud')
})

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
})

afterAll(async () => {
  await db.drop()
})

const config = `
sources:
  - { id: aep, writeKey: ${WRITE_KEY}, destinations: [support] }
destinations:
  - id: support
    zendesk: { sandbox: true }
    activations:
      - id: vip-tag
        target: support-users
        audiences: [{ id: seg-vip, tag: aud_vip }]
`

const person = (name: string) => ({
  identityMap: { Email: [{ id: `${name}@example.com` }] },
  person: { name: { firstName: name, lastName: 'Lee' } },
  segmentMembership: { ups: { 'seg-vip': { status: 'existing' } } },
})

async function vip(node: TestService): Promise<any> {
  const r = await fetch(`${node.url}/admin/api/destinations/support/activations`)
  const body = (await r.json()) as { audiences: any[] }
  return body.audiences.find((a) => a.audienceId === 'seg-vip')
}

describe('audience activation data on PostgreSQL', () => {
  test('two nodes share the counts and the members: a mirror sent to the node that did not deliver exits the one it lacks', async () => {
    for (let i = 0; i < 2; i++) {
      nodes.push(await startTestService({ configYaml: config, env: { DATABASE_URL: db.url } }))
    }
    const [a, b] = nodes as [TestService, TestService]
    const first = await b.post('/v1/audiences', {
      profiles: [person('ann'), person('bo'), person('cy')],
      mirror: { audiences: ['seg-vip'] },
    })
    expect(first.body).toMatchObject({ accepted: 3, mirror: { complete: true, exited: 0 } })
    // Whichever node holds the delivery lease delivered all three; both nodes count them.
    for (const node of nodes) {
      await node.waitFor(async () => (await vip(node))?.members === 3)
    }
    const holder = nodes.find((n) => n.service.workers.get('support')!.delivers)!
    const other = holder === a ? b : a
    const tagged = async () =>
      (await holder.state()).users
        .filter((u: any) => u.tags.includes('aud_vip'))
        .map((u: any) => u.email)
        .sort()
    expect(await tagged()).toEqual(['ann@example.com', 'bo@example.com', 'cy@example.com'])
    expect(await vip(other)).toMatchObject({ received: 3, activated: 3, statuses: { existing: 3 } })

    // The next snapshot lacks Bo and goes to the node that delivered nothing: it knows Bo anyway.
    const second = await other.post('/v1/audiences', {
      profiles: [person('ann'), person('cy')],
      mirror: { audiences: ['seg-vip'] },
    })
    expect(second.body).toMatchObject({ accepted: 2, mirror: { complete: true, exited: 1 } })
    await holder.waitFor(async () => (await vip(holder))?.members === 2)
    expect(await tagged()).toEqual(['ann@example.com', 'cy@example.com'])
    expect(await vip(other)).toMatchObject({ activated: 6, members: 2, statuses: { existing: 5, exited: 1 } })
  })
})
