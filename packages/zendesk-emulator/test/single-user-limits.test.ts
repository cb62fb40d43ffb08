import { beforeEach, describe, expect, test } from 'vitest'

import { useTestEmulator } from './client.js'

const zd = useTestEmulator()

const HEADER = 'zendesk-ratelimit-create-update-user'

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Creates users with POST users, which has no endpoint limit of its own. */
async function createUsers(n: number): Promise<number[]> {
  const ids: number[] = []
  for (let i = 0; i < n; i++) {
    const r = await zd.post('/api/v2/users', { user: { name: `User ${i}`, email: `user${i}@example.com` } })
    expect(r.status).toBe(201)
    ids.push(r.body.user.id)
  }
  return ids
}

describe('one single-user write a second per account', () => {
  test('a second update within the same second, even of another user, is 429 with Retry-After', async () => {
    const [a, b] = await createUsers(2)
    const first = await zd.put(`/api/v2/users/${a}`, { user: { notes: '1' } })
    expect(first.status).toBe(200)
    expect(first.headers.get(HEADER)).toBe('total=5; remaining=4; resets=60')

    const second = await zd.put(`/api/v2/users/${b}`, { user: { notes: '2' } })
    expect(second.status).toBe(429)
    expect(second.headers.get('retry-after')).toBe('1')
    expect(second.headers.get(HEADER)).toBe('total=1; remaining=0; resets=1')
    expect((await zd.get(`/api/v2/users/${b}`)).body.user.notes).toBe('')
  })

  test('create_or_update and PUT users/{id} share the per-account second', async () => {
    const [a] = await createUsers(1)
    expect(
      (await zd.post('/api/v2/users/create_or_update', { user: { name: 'N', email: 'n@example.com' } }))
        .status,
    ).toBe(201)
    const r = await zd.put(`/api/v2/users/${a}`, { user: { notes: 'x' } })
    expect(r.status).toBe(429)
    expect(r.headers.get(HEADER)).toBe('total=1; remaining=0; resets=1')
  })

  test('after the (scaled) second the next write is allowed', async () => {
    zd.emulator.configure({ timeScale: 10 }) // a second lasts 100 ms
    const [a, b] = await createUsers(2)
    expect((await zd.put(`/api/v2/users/${a}`, { user: { notes: '1' } })).status).toBe(200)
    expect((await zd.put(`/api/v2/users/${b}`, { user: { notes: '2' } })).status).toBe(429)
    await sleep(120)
    expect((await zd.put(`/api/v2/users/${b}`, { user: { notes: '3' } })).status).toBe(200)
  })
})

describe('five writes a minute per user', () => {
  // Scaled by 60: a second lasts about 17 ms and a minute 1 s, so writes 20 ms apart pass the
  // per-account second and all land in one per-user minute.
  beforeEach(() => {
    zd.emulator.configure({ timeScale: 60 })
  })

  test('the sixth update of one user within a minute is 429; another user is still fine', async () => {
    const [a, b] = await createUsers(2)
    const remaining: (string | null)[] = []
    for (let i = 0; i < 5; i++) {
      const r = await zd.put(`/api/v2/users/${a}`, { user: { notes: String(i) } })
      expect(r.status).toBe(200)
      remaining.push(r.headers.get(HEADER)?.match(/remaining=(\d+)/)?.[1] ?? null)
      await sleep(20)
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0'])

    const limited = await zd.put(`/api/v2/users/${a}`, { user: { notes: 'six' } })
    expect(limited.status).toBe(429)
    expect(limited.headers.get(HEADER)).toMatch(/^total=5; remaining=0; resets=\d+$/)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect((await zd.get(`/api/v2/users/${a}`)).body.user.notes).toBe('4')

    await sleep(20)
    expect((await zd.put(`/api/v2/users/${b}`, { user: { notes: 'b' } })).status).toBe(200)
  })

  test('create_or_update counts against the matched user’s minute', async () => {
    const [a] = await createUsers(1)
    for (let i = 0; i < 5; i++) {
      const r =
        i % 2 === 0
          ? await zd.put(`/api/v2/users/${a}`, { user: { notes: String(i) } })
          : await zd.post('/api/v2/users/create_or_update', {
              user: { email: 'user0@example.com', notes: String(i) },
            })
      expect(r.status).toBe(200)
      await sleep(20)
    }
    const r = await zd.post('/api/v2/users/create_or_update', {
      user: { email: 'USER0@example.com', notes: 'x' },
    })
    expect(r.status).toBe(429)
    expect(r.headers.get(HEADER)).toMatch(/^total=5; remaining=0;/)
  })

  test('create_or_update of new users is limited per email or external id, not for the account', async () => {
    for (let i = 0; i < 7; i++) {
      const r = await zd.post('/api/v2/users/create_or_update', {
        user: { name: `New ${i}`, external_id: `new-${i}` },
      })
      expect(r.status).toBe(201)
      expect(r.headers.get(HEADER)).toMatch(/^total=5; remaining=4; resets=\d+$/)
      await sleep(20)
    }
  })

  test('after the (scaled) minute the user may be written again', async () => {
    const [a] = await createUsers(1)
    for (let i = 0; i < 5; i++) {
      expect((await zd.put(`/api/v2/users/${a}`, { user: { notes: String(i) } })).status).toBe(200)
      await sleep(20)
    }
    expect((await zd.put(`/api/v2/users/${a}`, { user: { notes: 'x' } })).status).toBe(429)
    await sleep(1050)
    expect((await zd.put(`/api/v2/users/${a}`, { user: { notes: 'y' } })).status).toBe(200)
  })
})

describe('switched off', () => {
  test('with rate limits off there is no endpoint limit and no create-update-user header', async () => {
    zd.emulator.configure({ rateLimits: false })
    const [a] = await createUsers(1)
    for (let i = 0; i < 7; i++) {
      const r = await zd.put(`/api/v2/users/${a}`, { user: { notes: String(i) } })
      expect(r.status).toBe(200)
      expect(r.headers.get(HEADER)).toBeNull()
    }
  })
})
