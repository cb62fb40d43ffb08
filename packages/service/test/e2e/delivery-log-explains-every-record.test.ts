import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

async function deliveryLog(query = ''): Promise<any[]> {
  const r = await fetch(`${t!.url}/admin/api/delivery-log${query}`)
  expect(r.status).toBe(200)
  return ((await r.json()) as { entries: any[] }).entries
}

async function jobs(state: string): Promise<any[]> {
  const r = await fetch(`${t!.url}/admin/api/destinations/default/jobs?state=${state}`)
  return ((await r.json()) as { jobs: any[] }).jobs
}

describe('the delivery log explains what happened to every record', () => {
  test('delivered, skipped (page, screen, alias) and failed records each have their reason; nothing else is lost', async () => {
    t = await startTestService()
    const accepted = await t.post('/v1/batch', {
      batch: [
        {
          type: 'identify',
          messageId: 'm-ann',
          userId: 'u1',
          traits: { email: 'ann@example.com', name: 'Ann' },
        },
        { type: 'page', messageId: 'm-page', userId: 'u1', name: 'Pricing' },
        { type: 'screen', messageId: 'm-screen', userId: 'u1', name: 'Settings' },
        { type: 'alias', messageId: 'm-alias', userId: 'u1', previousId: 'anon-1' },
        { type: 'track', messageId: 'm-nobody', anonymousId: 'anon-2', event: 'Clicked', properties: {} },
        {
          type: 'identify',
          messageId: 'm-refused',
          userId: 'u2',
          traits: { email: 'not-an-email', name: 'Bob' },
        },
      ],
    })
    expect(accepted.status).toBe(200)

    const entries = await t.waitFor(async () => {
      const e = await deliveryLog()
      return e.length === 6 ? e : null
    })
    const byMessage = new Map(entries.map((e) => [e.messageId, e]))
    expect(byMessage.get('m-ann')).toMatchObject({
      destinationId: 'default',
      type: 'identify',
      // update-organization-membership takes only identifies that name a company.
      actions: ['upsert-user'],
      outcome: 'delivered',
      reason: null,
      attempt: 1,
    })
    expect(byMessage.get('m-page')).toMatchObject({
      type: 'page',
      actions: [],
      outcome: 'skipped',
      reason: 'page calls have no Zendesk action; subscribe one to change this',
    })
    expect(byMessage.get('m-screen')).toMatchObject({
      outcome: 'skipped',
      reason: 'screen calls have no Zendesk action; subscribe one to change this',
    })
    expect(byMessage.get('m-alias')).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringMatching(/^alias calls have no Zendesk action; subscribe one to change this/),
    })
    expect(byMessage.get('m-nobody')).toMatchObject({
      type: 'track',
      event: 'Clicked',
      actions: ['track-event'],
      outcome: 'failed',
      reason: expect.stringMatching(/^MAPPING_NO_IDENTIFIER: a track needs/),
    })
    expect(byMessage.get('m-refused')).toMatchObject({
      type: 'identify',
      outcome: 'failed',
      reason: expect.stringContaining('Email: not-an-email is not properly formatted'),
    })

    // Skipped is not an error: those jobs are done; only the two bad records are dead.
    expect((await jobs('dead')).map((j) => j.dedupeKey).sort()).toEqual(['m-nobody', 'm-refused'])
    expect(await jobs('done')).toHaveLength(4)
    const state = await t.state()
    expect(state.users.filter((u: any) => u.email === 'ann@example.com')).toHaveLength(1)

    // The operator's filters.
    expect((await deliveryLog('?outcome=skipped')).map((e) => e.messageId).sort()).toEqual([
      'm-alias',
      'm-page',
      'm-screen',
    ])
    const [refused] = await deliveryLog('?message_id=m-refused')
    expect((await deliveryLog(`?job=${refused.jobId}`)).map((e) => e.messageId)).toEqual(['m-refused'])
    expect(await deliveryLog('?destination=elsewhere')).toEqual([])
    expect(await deliveryLog('?limit=2')).toHaveLength(2)
    const bad = await fetch(`${t.url}/admin/api/delivery-log?outcome=lost`)
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { message: string }).message).toMatch(/^outcome: /)
  })

  test('a record Zendesk answers 503 for shows as retry, then delivered', async () => {
    t = await startTestService({ deps: { retryBaseMs: 20 } })
    t.emulator.addFaults([{ kind: 'status', status: 503, count: 1, path: 'users/create_or_update_many' }])
    await t.post('/v1/identify', {
      messageId: 'm-retry',
      userId: 'u3',
      traits: { email: 'cy@example.com', name: 'Cy' },
    })

    const entries = await t.waitFor(async () => {
      const e = await deliveryLog('?message_id=m-retry')
      return e.some((x) => x.outcome === 'delivered') ? e : null
    })
    // Newest first.
    expect(entries.map((e) => [e.outcome, e.attempt])).toEqual([
      ['delivered', 2],
      ['retry', 1],
    ])
    expect(entries[1].reason).toMatch(/^ZD_HTTP_503: /)
    expect(entries[0].reason).toBeNull()
    expect(new Set(entries.map((e) => e.jobId)).size).toBe(1)
  })
})
