/**
 * Events API [D-events] (facts §9). The server gives these paths their own per-minute bucket.
 *
 * | Call                                   | What it does                                      |
 * | -------------------------------------- | ------------------------------------------------- |
 * | `POST user_profiles/events`            | track: upsert profile, link or create user → 202 |
 * | `POST users/{user_id}/events`          | track against an existing Zendesk user → 202     |
 * | `POST user_profiles/{profile_id}/events` | track against an existing profile → 202        |
 * | `GET users/{user_id}/events`           | a user's events, cursor-paged                     |
 * | `GET user_profiles/events?identifier=` | a profile's events by identifier query            |
 * | `GET user_profiles/{profile_id}/events` | a profile's events by id                         |
 */
import type { FastifyReply, FastifyRequest } from 'fastify'

import type { Account, Json, UserRecord } from '../account.js'
import { ApiError, recordNotFound } from '../errors.js'
import { query, send, type RouteModule } from '../http.js'
import {
  eventsError,
  listEvents,
  parseTrackBody,
  presentEvent,
  profileByIdentifierQuery,
  trackedBody,
  trackEvent,
  trackEventForProfile,
  type EventFilter,
} from '../model/events.js'
import { findUser } from '../model/users.js'

/** Page size when `page[size]` is absent, and its ceiling (both unverified). */
const DEFAULT_PAGE_SIZE = 100
const MAX_PAGE_SIZE = 1000

/** `users/{user_id}`: a non-numeric id is the documented 400; an unknown one a 404 (unverified shape). */
function userParam(account: Account, request: FastifyRequest): UserRecord {
  const raw = (request.params as { user_id?: string }).user_id ?? ''
  if (!/^\d+$/.test(raw)) {
    throw new ApiError(400, {
      error: {
        message:
          'You passed an invalid value for the id attribute. Invalid parameter: id must be an integer from api/v2/users/show',
        title: 'Invalid attribute',
      },
    })
  }
  const user = findUser(account, Number(raw))
  if (!user) {
    throw recordNotFound()
  }
  return user
}

function parseFilter(account: Account, request: FastifyRequest): EventFilter {
  const q = query(request)
  const filter: EventFilter = {}
  const time = (raw: string | undefined, code: string, title: string): number | undefined => {
    if (raw === undefined) {
      return undefined
    }
    const t = Date.parse(raw)
    if (Number.isNaN(t)) {
      throw eventsError(account, 400, [{ code, title, detail: `${raw} is not an ISO 8601 date-time` }])
    }
    return t
  }
  const source = q['filter[source]']
  const type = q['filter[type]']
  if (type !== undefined && source === undefined) {
    throw eventsError(account, 400, [
      { code: 'InvalidFilter', title: 'Invalid filter', detail: 'filter[type] needs filter[source]' },
    ])
  }
  if (source !== undefined) {
    filter.source = source
  }
  if (type !== undefined) {
    filter.type = type
  }
  const start = time(q['filter[start_time]'], 'StartTimestampNotValid', 'Start Timestamp not valid')
  const end = time(q['filter[end_time]'], 'EndTimestampNotValid', 'End Timestamp not valid')
  if (start !== undefined) {
    filter.startTime = start
  }
  if (end !== undefined) {
    filter.endTime = end
  }
  return filter
}

/**
 * One cursor page: `events`, `links` (an array holding `{next}` when there is more, as the docs
 * show it) and `meta: {has_more, after_cursor, before_cursor}` [D-events].
 */
function eventPage(
  account: Account,
  request: FastifyRequest,
  path: string,
  events: ReturnType<typeof listEvents>,
): Record<string, Json> {
  const q = query(request)
  const size = Math.min(
    MAX_PAGE_SIZE,
    Math.max(1, Number.parseInt(q['page[size]'] ?? '', 10) || DEFAULT_PAGE_SIZE),
  )
  let start = 0
  const after = q['page[after]']
  if (after !== undefined) {
    const id = Buffer.from(after, 'base64url').toString('utf8')
    const at = events.findIndex((e) => e.id === id)
    if (at < 0) {
      throw eventsError(account, 400, [
        { code: 'InvalidCursor', title: 'Invalid cursor', detail: 'page[after] is not a valid cursor' },
      ])
    }
    start = at + 1
  }
  const page = events.slice(start, start + size)
  const hasMore = start + page.length < events.length
  const last = page[page.length - 1]
  const first = page[0]
  const afterCursor = last ? Buffer.from(last.id).toString('base64url') : null
  return {
    events: page.map(presentEvent),
    links: hasMore
      ? [{ next: `${account.baseUrl}/api/v2/${path}?page[after]=${afterCursor}&page[size]=${size}` }]
      : [],
    meta: {
      has_more: hasMore,
      after_cursor: afterCursor,
      before_cursor: first ? Buffer.from(first.id).toString('base64url') : null,
    },
  }
}

function accepted(reply: FastifyReply, body: Json): FastifyReply {
  return send(reply, 202, body)
}

export const eventRoutes: RouteModule = (app, { account }) => {
  app.post('/api/v2/user_profiles/events', (request, reply) => {
    const { profile } = trackEvent(account, parseTrackBody(account, request.body))
    return accepted(reply, trackedBody(profile))
  })

  app.get('/api/v2/user_profiles/events', (request) => {
    const identifier = query(request).identifier
    if (identifier === undefined) {
      throw eventsError(account, 400, [
        { code: 'MissingField', title: 'Missing required field', detail: 'identifier is required' },
      ])
    }
    const profile = profileByIdentifierQuery(account, identifier)
    if (!profile) {
      throw eventsError(account, 404, [
        { code: 'ProfileNotFound', title: 'Profile not found', detail: `No profile matches ${identifier}` },
      ])
    }
    const filter = parseFilter(account, request)
    return eventPage(
      account,
      request,
      'user_profiles/events',
      listEvents(account, { profileId: profile.id }, filter),
    )
  })

  app.post('/api/v2/user_profiles/:profile_id/events', (request, reply) => {
    const { profile_id: id } = request.params as { profile_id: string }
    const profile = account.data.profiles.get(id)
    if (!profile) {
      throw eventsError(account, 404, [
        { code: 'ProfileNotFound', title: 'Profile not found', detail: `No profile with id ${id}` },
      ])
    }
    const { event } = parseTrackBody(account, request.body, false)
    trackEventForProfile(account, profile, event)
    return accepted(reply, trackedBody(profile))
  })

  app.get('/api/v2/user_profiles/:profile_id/events', (request) => {
    const { profile_id: id } = request.params as { profile_id: string }
    const profile = account.data.profiles.get(id)
    if (!profile) {
      throw eventsError(account, 404, [
        { code: 'ProfileNotFound', title: 'Profile not found', detail: `No profile with id ${id}` },
      ])
    }
    const filter = parseFilter(account, request)
    return eventPage(
      account,
      request,
      `user_profiles/${id}/events`,
      listEvents(account, { profileId: id }, filter),
    )
  })

  app.post('/api/v2/users/:user_id/events', (request, reply) => {
    const user = userParam(account, request)
    const { profile } = trackEvent(account, parseTrackBody(account, request.body), user)
    return accepted(reply, trackedBody(profile))
  })

  app.get('/api/v2/users/:user_id/events', (request) => {
    const user = userParam(account, request)
    const filter = parseFilter(account, request)
    return eventPage(
      account,
      request,
      `users/${user.id}/events`,
      listEvents(account, { userId: user.id }, filter),
    )
  })
}
