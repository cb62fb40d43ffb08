import { describe, expect, test } from 'vitest'

import { useTestEmulator } from './client.js'

const zd = useTestEmulator({ rateLimits: false })

async function createUser(user: Record<string, unknown>): Promise<any> {
  const r = await zd.post('/api/v2/users', { user })
  expect(r.status).toBe(201)
  return r.body.user
}

async function userNames(): Promise<string[]> {
  return (await zd.state()).users.map((u: any) => u.name)
}

const FORBIDDEN = {
  error: {
    title: 'Forbidden',
    message:
      'You do not have access to this page. Please contact the account owner of this help desk for further help.',
  },
}

describe('create_many', () => {
  test('answers a queued job at once and writes nothing until the job completes', async () => {
    zd.emulator.configure({ jobDelayMs: 300 })
    const r = await zd.post('/api/v2/users/create_many.json', {
      users: [
        { name: 'One', email: 'one@example.com' },
        { name: 'Two', email: 'two@example.com' },
      ],
    })
    expect(r.status).toBe(200)
    const job = r.body.job_status
    expect(job).toEqual({
      id: job.id,
      job_type: 'Bulk Create User',
      url: `${zd.url}/api/v2/job_statuses/${job.id}.json`,
      total: 2,
      progress: null,
      status: 'queued',
      message: null,
      results: null,
    })
    expect(r.headers.get('zendesk-ratelimit-inflight-jobs')).toMatch(/^total=30; remaining=29; resets=\d+$/)
    expect(await userNames()).toEqual(['Sandbox Admin'])

    const done = await zd.waitForJob(job.id)
    expect(done.status).toBe('completed')
    expect(done.progress).toBe(2)
    expect(done.message).toMatch(/^Completed at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0000$/)
    const state = await zd.state()
    const byName = new Map(state.users.map((u: any) => [u.name, u.id]))
    expect(done.results).toEqual([
      { id: byName.get('One'), index: 0 },
      { id: byName.get('Two'), index: 1 },
    ])
  })

  test('a failed item in the middle is reported at its index and does not stop the others', async () => {
    await createUser({ name: 'Taken', email: 'taken@example.com' })
    const r = await zd.post('/api/v2/users/create_many', {
      users: [
        { name: 'First', email: 'first@example.com' },
        { name: 'Clash', email: 'taken@example.com' },
        { name: '', email: 'nameless@example.com' },
        { name: 'Last', email: 'last@example.com' },
      ],
    })
    const done = await zd.waitForJob(r.body.job_status.id)
    expect(done.results).toEqual([
      { id: expect.any(Number), index: 0 },
      {
        id: 1,
        index: 1,
        error: 'UserCreateError',
        details: 'Email: taken@example.com is already being used by another user',
      },
      { id: 2, index: 2, error: 'UserCreateError', details: 'Name:  is too short (minimum one character)' },
      { id: expect.any(Number), index: 3 },
    ])
    expect(await userNames()).toEqual(['Sandbox Admin', 'Taken', 'First', 'Last'])
  })
})

describe('create_or_update_many', () => {
  test('results follow request order with Created, Updated and Failed entries', async () => {
    const existing = await createUser({
      name: 'Existing',
      email: 'existing@example.com',
      external_id: 'EXT-9',
    })
    const r = await zd.post('/api/v2/users/create_or_update_many.json', {
      users: [
        { name: 'Brand New', email: 'new@example.com', external_id: 'n-1' },
        { name: 'Bad', email: 'bad@@example' },
        { name: 'Existing Renamed', external_id: 'ext-9' },
        { name: 'Later', email: 'later@example.com' },
        { name: 'Brand New Again', email: 'new@example.com' },
      ],
    })
    expect(r.status).toBe(200)
    expect(r.body.job_status).toMatchObject({ job_type: 'Bulk Create User', status: 'queued', results: null })
    const done = await zd.waitForJob(r.body.job_status.id)
    expect(done.status).toBe('completed')
    const created = done.results[0].id
    expect(done.results).toEqual([
      { id: created, status: 'Created', email: 'new@example.com', external_id: 'n-1' },
      {
        id: 1,
        index: 1,
        error: 'UserCreateError',
        details: 'Email: bad@@example is not properly formatted',
        status: 'Failed',
      },
      { id: existing.id, status: 'Updated', email: 'existing@example.com', external_id: 'ext-9' },
      { id: expect.any(Number), status: 'Created', email: 'later@example.com' },
      { id: created, status: 'Updated', email: 'new@example.com', external_id: 'n-1' },
    ])
    const user = (await zd.get(`/api/v2/users/${existing.id}`)).body.user
    expect(user).toMatchObject({ name: 'Existing Renamed', external_id: 'ext-9' })
  })

  test('a failed update is a UserUpdateError', async () => {
    const a = await createUser({ name: 'A', email: 'a@example.com', external_id: 'a-1' })
    await createUser({ name: 'B', email: 'b@example.com' })
    const r = await zd.post('/api/v2/users/create_or_update_many', {
      users: [{ external_id: 'a-1', email: 'b@example.com' }],
    })
    const done = await zd.waitForJob(r.body.job_status.id)
    expect(done.results).toEqual([
      {
        id: 0,
        index: 0,
        error: 'UserUpdateError',
        details: 'Email: b@example.com is already being used by another user',
        status: 'Failed',
      },
    ])
    expect((await zd.get(`/api/v2/users/${a.id}/identities`)).body.count).toBe(1)
  })
})

describe('limits and switches', () => {
  test.each(['create_many', 'create_or_update_many'])('%s with 101 users is 400', async (endpoint) => {
    const users = Array.from({ length: 101 }, (_, i) => ({ name: `U${i}`, email: `u${i}@example.com` }))
    const r = await zd.post(`/api/v2/users/${endpoint}`, { users })
    expect(r.status).toBe(400)
    expect(r.body).toEqual({
      error: 'InvalidValue',
      description: 'Too many users: 101 given, at most 100 allowed per request',
    })
    expect((await zd.state()).job_statuses).toEqual([])
  })

  test.each(['create_many', 'create_or_update_many'])(
    '%s is 403 Forbidden while bulk user import is off',
    async (endpoint) => {
      zd.emulator.configure({ bulkUserImport: false })
      const r = await zd.post(`/api/v2/users/${endpoint}`, { users: [{ name: 'X', email: 'x@example.com' }] })
      expect(r.status).toBe(403)
      expect(r.body).toEqual(FORBIDDEN)
      expect((await zd.state()).job_statuses).toEqual([])
    },
  )

  test('update_many still works while bulk user import is off', async () => {
    zd.emulator.configure({ bulkUserImport: false })
    const user = await createUser({ name: 'U' })
    const r = await zd.put(`/api/v2/users/update_many?ids=${user.id}`, { user: { notes: 'n' } })
    expect(r.status).toBe(200)
  })

  test('with the in-flight job limit reached, the next bulk call is 429 TooManyJobs', async () => {
    zd.emulator.configure({ maxInflightJobs: 2, jobDelayMs: 60_000 })
    const ids: string[] = []
    for (let i = 0; i < 2; i++) {
      const r = await zd.post('/api/v2/users/create_many', { users: [{ name: `U${i}` }] })
      expect(r.status).toBe(200)
      ids.push(r.body.job_status.id)
    }
    const r = await zd.post('/api/v2/users/create_or_update_many', { users: [{ name: 'Third' }] })
    expect(r.status).toBe(429)
    expect(r.body).toEqual({
      error: 'TooManyJobs',
      description: 'Too many BulkCreateUser jobs are currently queued or running. Try again later.',
      current_job_ids: ids,
    })
    expect(r.headers.get('zendesk-ratelimit-inflight-jobs')).toMatch(/^total=2; remaining=0; resets=\d+$/)
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
  })
})

describe('update_many and destroy_many', () => {
  test('?ids= with one change applies it to every user; unknown ids fail on their own', async () => {
    const a = await createUser({ name: 'A' })
    const b = await createUser({ name: 'B' })
    const r = await zd.put(`/api/v2/users/update_many.json?ids=${a.id},999,${b.id}`, {
      user: { notes: 'bulk', tags: ['x'] },
    })
    expect(r.status).toBe(200)
    expect(r.body.job_status).toMatchObject({ job_type: 'Bulk Update User', total: 3, status: 'queued' })
    const done = await zd.waitForJob(r.body.job_status.id)
    expect(done.results).toEqual([
      { id: a.id, action: 'update', status: 'Updated', success: true },
      { id: 999, action: 'update', error: 'RecordNotFound', details: 'Not found', success: false },
      { id: b.id, action: 'update', status: 'Updated', success: true },
    ])
    for (const id of [a.id, b.id]) {
      expect((await zd.get(`/api/v2/users/${id}`)).body.user).toMatchObject({ notes: 'bulk', tags: ['x'] })
    }
  })

  test('?external_ids= selects users by external id', async () => {
    const a = await createUser({ name: 'A', external_id: 'Ext-A' })
    const r = await zd.put('/api/v2/users/update_many?external_ids=ext-a', { user: { details: 'd' } })
    const done = await zd.waitForJob(r.body.job_status.id)
    expect(done.results).toEqual([{ id: a.id, action: 'update', status: 'Updated', success: true }])
    expect((await zd.get(`/api/v2/users/${a.id}`)).body.user.details).toBe('d')
  })

  test('{users: [...]} changes each user differently; an invalid change fails alone', async () => {
    const a = await createUser({ name: 'A', email: 'a@example.com' })
    const b = await createUser({ name: 'B' })
    const c = await createUser({ name: 'C' })
    const r = await zd.put('/api/v2/users/update_many', {
      users: [
        { id: a.id, name: 'A2' },
        { id: b.id, email: 'a@example.com' },
        { id: c.id, name: 'C2' },
      ],
    })
    const done = await zd.waitForJob(r.body.job_status.id)
    expect(done.results).toEqual([
      { id: a.id, action: 'update', status: 'Updated', success: true },
      {
        id: b.id,
        action: 'update',
        error: 'RecordInvalid',
        details: 'Email: a@example.com is already being used by another user',
        success: false,
      },
      { id: c.id, action: 'update', status: 'Updated', success: true },
    ])
    const names = await userNames()
    expect(names).toEqual(['Sandbox Admin', 'A2', 'B', 'C2'])
  })

  test('update_many writes nothing before the job completes', async () => {
    zd.emulator.configure({ jobDelayMs: 300 })
    const a = await createUser({ name: 'A' })
    const r = await zd.put(`/api/v2/users/update_many?ids=${a.id}`, { user: { name: 'Later' } })
    expect((await zd.get(`/api/v2/users/${a.id}`)).body.user.name).toBe('A')
    await zd.waitForJob(r.body.job_status.id)
    expect((await zd.get(`/api/v2/users/${a.id}`)).body.user.name).toBe('Later')
  })

  test('destroy_many soft-deletes the users and reports each one', async () => {
    const a = await createUser({ name: 'A' })
    const r = await zd.del(`/api/v2/users/destroy_many?ids=${a.id},999`)
    expect(r.status).toBe(200)
    const done = await zd.waitForJob(r.body.job_status.id)
    expect(done.results).toEqual([
      { id: a.id, action: 'delete', status: 'Deleted', success: true },
      { id: 999, action: 'delete', error: 'RecordNotFound', details: 'Not found', success: false },
    ])
    expect((await zd.get(`/api/v2/users/${a.id}`)).body.user.active).toBe(false)
  })

  test('destroy_many without ids or external_ids is 400', async () => {
    const r = await zd.del('/api/v2/users/destroy_many')
    expect(r.status).toBe(400)
  })
})
