/**
 * The inspection API under `/__emulator/` (no Zendesk auth, never faulted or rate limited):
 *
 * | Call                         | What it does                                                   |
 * | ---------------------------- | -------------------------------------------------------------- |
 * | `GET state`                  | every object of the account                                    |
 * | `GET requests`               | the request log (`?since=<seq>`, `?path=<substring>`)          |
 * | `DELETE requests`            | empties the request log                                        |
 * | `POST reset`                 | back to the seeded account (`{"config": true}` also resets config) |
 * | `GET / POST / DELETE faults` | lists, schedules (`{"faults": [rule, …]}`) or clears faults    |
 * | `GET / PUT config`           | reads or changes plan, limits, time scale, bulk import, job delay, token retirement, Sell token revocation |
 */
import type { FastifyInstance } from 'fastify'

import { parseConfigPatch } from '../config-schema.js'
import { FaultInputError } from '../faults.js'
import { isObject } from '../http.js'
import { presentIdentity, presentUser } from '../model/users.js'
import { accountLimit } from '../options.js'
import type { ServerParts } from '../server.js'

export function inspectRoutes(app: FastifyInstance, parts: ServerParts): void {
  const { account, faults, log } = parts
  const base = '/__emulator'

  app.get(`${base}/state`, () => {
    const d = account.data
    return {
      account: { subdomain: account.seed.subdomain, url: account.baseUrl },
      users: [...d.users.values()].map((u) => presentUser(account, u)),
      identities: [...d.identities.values()].map((i) => presentIdentity(account, i)),
      user_fields: [...d.userFields.values()],
      organization_fields: [...d.organizationFields.values()],
      ticket_fields: [...d.ticketFields.values()],
      organizations: [...d.organizations.values()],
      organization_memberships: [...d.memberships.values()],
      tickets: [...d.tickets.values()],
      job_statuses: [...d.jobs.values()],
      user_profiles: [...d.profiles.values()],
      user_events: d.userEvents,
      sell: { contacts: [...d.sellContacts.values()], custom_fields: [...d.sellCustomFields.values()] },
    }
  })

  app.get(`${base}/requests`, (request) => {
    const q = request.query as Record<string, string | undefined>
    const since = q.since !== undefined ? Number(q.since) : 0
    return {
      total: log.total,
      requests: log.list({ since, ...(q.path !== undefined ? { path: q.path } : {}) }),
    }
  })

  app.delete(`${base}/requests`, (_request, reply) => {
    log.clear()
    return reply.code(204).send()
  })

  app.post(`${base}/reset`, (request) => {
    parts.reset({ config: isObject(request.body) && request.body.config === true })
    return { reset: true }
  })

  app.get(`${base}/faults`, () => ({ faults: faults.list() }))

  app.post(`${base}/faults`, (request, reply) => {
    const body = request.body
    const rules =
      isObject(body) && Array.isArray(body.faults) ? body.faults : Array.isArray(body) ? body : [body]
    try {
      return { faults: faults.add(rules) }
    } catch (err) {
      if (err instanceof FaultInputError) {
        return reply.code(400).send({ error: 'InvalidFault', description: err.message })
      }
      throw err
    }
  })

  app.delete(`${base}/faults`, (_request, reply) => {
    faults.clear()
    return reply.code(204).send()
  })

  const showConfig = (): Record<string, unknown> => ({
    config: account.config,
    accountLimitPerMinute: accountLimit(account.config),
    timeScale: account.config.timeScale,
    windowSeconds: 60 / account.config.timeScale,
    seed: account.seed,
  })

  app.get(`${base}/config`, showConfig)

  app.put(`${base}/config`, (request, reply) => {
    const parsed = parseConfigPatch(request.body ?? {})
    if (!parsed.ok) {
      return reply.code(400).send({ error: 'InvalidConfig', details: parsed.errors })
    }
    Object.assign(account.config, parsed.patch)
    return showConfig()
  })
}
