/**
 * Identities as an upsert sync meets them (facts §2.2, §2.5): `create_or_update_many` matches a
 * user by any of its email identities, refuses a record whose email and external_id belong to
 * two users, adds a new email as a secondary identity; `make_primary` promotes it; identities
 * can be updated and deleted [OAS "User Identities"].
 */
import { describe, expect, test } from 'vitest'

import { useTestEmulator } from './client.js'

const zd = useTestEmulator({ rateLimits: false })

async function createUser(user: Record<string, unknown>): Promise<any> {
  const r = await zd.post('/api/v2/users', { user })
  expect(r.status).toBe(201)
  return r.body.user
}

async function addEmail(userId: number, value: string): Promise<any> {
  const r = await zd.post(`/api/v2/users/${userId}/identities`, { identity: { type: 'email', value } })
  expect(r.status).toBe(201)
  return r.body.identity
}

async function upsertMany(users: Record<string, unknown>[]): Promise<any[]> {
  const r = await zd.post('/api/v2/users/create_or_update_many', { users })
  expect(r.status).toBe(200)
  return (await zd.waitForJob(r.body.job_status.id)).results
}

async function emailsOf(userId: number): Promise<[string, boolean][]> {
  const r = await zd.get(`/api/v2/users/${userId}/identities?type[]=email`)
  return r.body.identities.map((i: any) => [i.value, i.primary])
}

describe('create_or_update_many and email identities', () => {
  test('a secondary email identity finds its user', async () => {
    const ann = await createUser({ name: 'Ann', email: 'ann@example.com' })
    await addEmail(ann.id, 'ann@home.example')
    const results = await upsertMany([{ name: 'Ann Lee', email: 'ANN@home.example' }])
    expect(results).toEqual([{ id: ann.id, status: 'Updated', email: 'ann@example.com' }])
    expect((await zd.get(`/api/v2/users/${ann.id}`)).body.user.name).toBe('Ann Lee')
  })

  test('an email that is one user’s secondary and an external_id that is another’s: the item fails, nobody changes', async () => {
    const ann = await createUser({ name: 'Ann', email: 'ann@example.com' })
    await addEmail(ann.id, 'shared@example.com')
    const bob = await createUser({ name: 'Bob', email: 'bob@example.com', external_id: 'u-bob' })
    const results = await upsertMany([{ name: 'Bob B', email: 'shared@example.com', external_id: 'u-bob' }])
    expect(results).toEqual([
      {
        id: 0,
        index: 0,
        error: 'UserUpdateError',
        details: 'Email: shared@example.com is already being used by another user',
        status: 'Failed',
      },
    ])
    expect((await zd.get(`/api/v2/users/${bob.id}`)).body.user.name).toBe('Bob')
    expect(await emailsOf(bob.id)).toEqual([['bob@example.com', true]])
    expect(await emailsOf(ann.id)).toEqual([
      ['ann@example.com', true],
      ['shared@example.com', false],
    ])
  })

  test('an email can belong to one user only, as primary or secondary', async () => {
    const ann = await createUser({ name: 'Ann', email: 'ann@example.com' })
    await addEmail(ann.id, 'shared@example.com')
    const r = await zd.post('/api/v2/users', { user: { name: 'Cy', email: 'Shared@Example.com' } })
    expect(r.status).toBe(422)
    expect(r.body.details.email[0].error).toBe('DuplicateValue')
  })

  test('a search by email finds the user through a secondary identity', async () => {
    const ann = await createUser({ name: 'Ann', email: 'ann@example.com' })
    await addEmail(ann.id, 'old@example.com')
    const r = await zd.get('/api/v2/users/search?query=' + encodeURIComponent('email:"old@example.com"'))
    expect(r.body.users.map((u: any) => u.id)).toEqual([ann.id])
  })

  test('a new email for a known external_id becomes a secondary identity; make_primary promotes it and keeps the old one', async () => {
    const ann = await createUser({ name: 'Ann', email: 'ann@old.example', external_id: 'u-ann' })
    const results = await upsertMany([{ email: 'ann@new.example', external_id: 'u-ann' }])
    expect(results).toEqual([
      { id: ann.id, status: 'Updated', email: 'ann@old.example', external_id: 'u-ann' },
    ])
    expect(await emailsOf(ann.id)).toEqual([
      ['ann@old.example', true],
      ['ann@new.example', false],
    ])
    const added = (await zd.get(`/api/v2/users/${ann.id}/identities`)).body.identities[1]
    const r = await zd.put(`/api/v2/users/${ann.id}/identities/${added.id}/make_primary`)
    expect(r.status).toBe(200)
    expect(await emailsOf(ann.id)).toEqual([
      ['ann@new.example', true],
      ['ann@old.example', false],
    ])
    const shown = await zd.get(`/api/v2/users/show_many?ids=${ann.id}`)
    expect(shown.body.users[0].email).toBe('ann@new.example')
    // The next upsert with the new email finds the same user, and changes no identity.
    const again = await upsertMany([{ email: 'ann@new.example', external_id: 'u-ann', name: 'Ann N' }])
    expect(again[0]).toMatchObject({ id: ann.id, status: 'Updated', email: 'ann@new.example' })
    expect(await emailsOf(ann.id)).toHaveLength(2)
  })
})

describe('updating and deleting identities', () => {
  test('PUT changes the value and the verified flag, not primary; another user’s email is 422', async () => {
    const ann = await createUser({ name: 'Ann', email: 'ann@example.com' })
    await createUser({ name: 'Bob', email: 'bob@example.com' })
    const second = await addEmail(ann.id, 'second@example.com')
    const r = await zd.put(`/api/v2/users/${ann.id}/identities/${second.id}`, {
      identity: { value: 'Renamed@Example.com', verified: true, primary: true },
    })
    expect(r.status).toBe(200)
    expect(r.body.identity).toMatchObject({
      id: second.id,
      value: 'renamed@example.com',
      verified: true,
      primary: false,
    })
    expect(await emailsOf(ann.id)).toEqual([
      ['ann@example.com', true],
      ['renamed@example.com', false],
    ])
    const taken = await zd.put(`/api/v2/users/${ann.id}/identities/${second.id}`, {
      identity: { value: 'bob@example.com' },
    })
    expect(taken.status).toBe(422)
    expect(taken.body.details.email[0].error).toBe('DuplicateValue')
    // The old value no longer finds Ann; the new one does.
    const search = (q: string) =>
      zd.get('/api/v2/users/search?query=' + encodeURIComponent(`email:"${q}"`)).then((x) => x.body.count)
    expect(await search('second@example.com')).toBe(0)
    expect(await search('renamed@example.com')).toBe(1)
  })

  test('DELETE answers 204 and frees the email; deleting the primary promotes the next email', async () => {
    const ann = await createUser({ name: 'Ann', email: 'ann@example.com' })
    const second = await addEmail(ann.id, 'second@example.com')
    const del = await zd.del(`/api/v2/users/${ann.id}/identities/${second.id}`)
    expect(del.status).toBe(204)
    expect(await emailsOf(ann.id)).toEqual([['ann@example.com', true]])
    await createUser({ name: 'Cy', email: 'second@example.com' })

    const third = await addEmail(ann.id, 'third@example.com')
    const primary = (await zd.get(`/api/v2/users/${ann.id}/identities`)).body.identities[0]
    expect((await zd.del(`/api/v2/users/${ann.id}/identities/${primary.id}`)).status).toBe(204)
    expect(await emailsOf(ann.id)).toEqual([['third@example.com', true]])
    expect(third.primary).toBe(false)
    expect((await zd.get(`/api/v2/users/${ann.id}`)).body.user.email).toBe('third@example.com')
  })

  test('an identity of another user cannot be updated or deleted (404)', async () => {
    const ann = await createUser({ name: 'Ann', email: 'ann@example.com' })
    const bob = await createUser({ name: 'Bob', email: 'bob@example.com' })
    const bobs = (await zd.get(`/api/v2/users/${bob.id}/identities`)).body.identities[0]
    expect(
      (await zd.put(`/api/v2/users/${ann.id}/identities/${bobs.id}`, { identity: { verified: true } }))
        .status,
    ).toBe(404)
    expect((await zd.del(`/api/v2/users/${ann.id}/identities/${bobs.id}`)).status).toBe(404)
  })
})
