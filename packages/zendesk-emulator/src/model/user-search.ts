/**
 * `GET users/search?query=…` (facts §2.2): a small subset of Zendesk's search syntax, enough for
 * the lookups a sync makes.
 *
 * - Terms are separated by spaces and all must match; `"quoted values"` may hold spaces.
 * - `email:x@y.z` matches any email identity exactly (case-insensitive); a trailing `*` matches a
 *   prefix. `name:`, `notes:`, `details:`, `phone:` match a part of the value; `external_id:`,
 *   `role:`, `tags:` / `tag:`, `organization_id:` and user-field keys match exactly. `type:user`
 *   is accepted and ignored. Any other `field:` matches nothing.
 * - A plain word matches a part of the name, an identity, the notes or the phone, or the whole
 *   external id.
 *
 * Real search reads an index that lags writes by up to a few minutes [D-search]; here new users
 * are found at once. Deleted users are never found.
 */
import type { Account, UserRecord } from '../account.js'
import { activeUsers, identitiesOf } from './users.js'

interface Term {
  field: string | null
  value: string
}

function parse(query: string): Term[] {
  const terms: Term[] = []
  for (const m of query.matchAll(/(?:([A-Za-z_][A-Za-z0-9_]*):)?("[^"]*"|\S+)/g)) {
    const field = m[1]?.toLowerCase() ?? null
    const value = (m[2] ?? '').replace(/^"|"$/g, '').toLowerCase()
    if (value !== '') {
      terms.push({ field, value })
    }
  }
  return terms
}

function like(actual: string | null | undefined, wanted: string, partial: boolean): boolean {
  if (actual === null || actual === undefined) {
    return false
  }
  const a = actual.toLowerCase()
  if (wanted.endsWith('*')) {
    return a.startsWith(wanted.slice(0, -1))
  }
  return partial ? a.includes(wanted) : a === wanted
}

function matches(account: Account, user: UserRecord, term: Term): boolean {
  const identities = identitiesOf(account, user.id)
  const emails = identities.filter((i) => i.type === 'email').map((i) => i.value)
  const { field, value } = term
  switch (field) {
    case null:
      return (
        like(user.name, value, true) ||
        identities.some((i) => like(i.value, value, true)) ||
        like(user.notes, value, true) ||
        like(user.phone, value, true) ||
        like(user.external_id, value, false)
      )
    case 'type':
      return value === 'user'
    case 'email':
      return emails.some((e) => like(e, value, false))
    case 'name':
    case 'notes':
    case 'details':
      return like(user[field], value, true)
    case 'phone':
      return (
        like(user.phone, value, true) ||
        identities.some((i) => i.type === 'phone_number' && like(i.value, value, true))
      )
    case 'external_id':
      return like(user.external_id, value, false)
    case 'role':
      return user.role === value
    case 'tag':
    case 'tags':
      return user.tags.some((t) => like(t, value, false))
    case 'organization_id':
      return String(user.organization_id) === value
    default: {
      const stored = user.user_fields[field]
      const values = Array.isArray(stored) ? stored : [stored]
      return values.some(
        (v) =>
          (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') &&
          like(String(v), value, false),
      )
    }
  }
}

export function searchUsers(account: Account, query: string): UserRecord[] {
  const terms = parse(query)
  if (terms.length === 0) {
    return []
  }
  return activeUsers(account).filter((u) => terms.every((t) => matches(account, u, t)))
}
