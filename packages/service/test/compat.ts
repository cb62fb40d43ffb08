/**
 * Helpers of the compatibility end-to-end tests (e2e/compat-*.test.ts): a service started with a
 * preset, calls to the emulator as its admin (test setup, not the service), the delivery log, and
 * waiting until every job has settled.
 */
import { startTestService, WRITE_KEY, type TestService } from './harness.js'

export interface CompatService extends TestService {
  /** A Support API call to the emulator as its admin (setup and checks, not the service). */
  zendesk(method: string, path: string, body?: unknown): Promise<any>
  /** The delivery log, newest first. */
  deliveryLog(query?: string): Promise<any[]>
  /** The delivery log's last entry for a messageId. */
  logOf(messageId: string): Promise<any>
  /** Posts a batch and waits until each of its messageIds has a settled (non-retry) log entry. */
  send(batch: Record<string, unknown>[]): Promise<void>
  /** How many requests reached the emulator on paths containing `path`. */
  requests(path: string): Promise<number>
}

/** Starts the service on the emulator with one destination using `preset` (null: none). */
export async function startCompat(
  preset: 'segment' | 'rudderstack' | 'customerio' | null,
  settings = '{}',
): Promise<CompatService> {
  const t = await startTestService({
    deps: { retryBaseMs: 20 },
    configYaml: `
sources:
  - { id: web, writeKey: ${WRITE_KEY}, destinations: [default] }
destinations:
  - id: default
    zendesk: { sandbox: true }
${preset ? `    preset: ${preset}\n` : ''}    settings: ${settings}
`,
  })
  const deliveryLog = async (query = ''): Promise<any[]> => {
    const r = await fetch(`${t.url}/admin/api/delivery-log${query}`)
    return ((await r.json()) as { entries: any[] }).entries
  }
  let counter = 0
  const c: CompatService = Object.assign(t, {
    async zendesk(method: string, path: string, body?: unknown): Promise<any> {
      const { adminEmail, apiToken } = t.emulator.seed
      const r = await fetch(`${t.emulator.url}/api/v2/${path}`, {
        method,
        headers: {
          authorization: `Basic ${Buffer.from(`${adminEmail}/token:${apiToken}`).toString('base64')}`,
          'content-type': 'application/json',
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      return r.status === 204 ? null : r.json()
    },
    deliveryLog,
    async logOf(messageId: string): Promise<any> {
      return (await deliveryLog(`?message_id=${encodeURIComponent(messageId)}`))[0]
    },
    async send(batch: Record<string, unknown>[]): Promise<void> {
      const events = batch.map((e) => ({ messageId: `m${++counter}`, ...e }))
      const r = await t.post('/v1/batch', { batch: events })
      if (r.status !== 200) {
        throw new Error(`ingest answered ${r.status}: ${JSON.stringify(r.body)}`)
      }
      const ids = events.map((e) => e.messageId)
      await t.waitFor(async () => {
        const log = await deliveryLog('?limit=1000')
        return ids.every((id) => log.some((e) => e.messageId === id && e.outcome !== 'retry'))
      }, 20_000)
    },
    async requests(path: string): Promise<number> {
      const r = await fetch(`${t.emulator.url}/__emulator/requests?path=${encodeURIComponent(path)}`)
      return ((await r.json()) as { requests: unknown[] }).requests.length
    },
  })
  return c
}

export const userBy = (state: any, externalId: string): any =>
  state.users.find((u: any) => u.external_id === externalId)
export const userByEmail = (state: any, email: string): any => state.users.find((u: any) => u.email === email)
export const orgBy = (state: any, externalId: string): any =>
  state.organizations.find((o: any) => o.external_id === externalId)
export const orgsOf = (state: any, userId: number): number[] =>
  state.organization_memberships
    .filter((m: any) => m.user_id === userId)
    .map((m: any) => m.organization_id)
    .sort()
