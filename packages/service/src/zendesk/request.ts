/**
 * A Zendesk request as data: what actions return and what the client executes. Actions never
 * spell URLs; the builders in `zendesk/<resource>.ts` make these values.
 */

/** Which API a request goes to: the Support API (`{base}/api/v2`) or Sell (`{sell base}/v2`). */
export type ZendeskApi = 'support' | 'sell'

/**
 * Which rate-limit budget a request uses, besides the account-wide one:
 * - `account`: only the account-wide budget (X-Rate-Limit);
 * - `single-user`: `users/create_or_update` and `PUT users/{id}`: 1 a second per account and
 *   5 a minute per user (facts §2.4) — `limitKey` names the user;
 * - `ticket-update`: `PUT tickets/{id}`: 100 a minute per account, 30 per 10 minutes per ticket;
 * - `organization-update`: `PUT organizations/{id}`: 5 a minute per organization;
 * - `sell`: 36,000 an hour per token.
 */
export type LimitClass = 'account' | 'single-user' | 'ticket-update' | 'organization-update' | 'sell'

export interface ZendeskRequest {
  api: ZendeskApi
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** Path below the API root, without `.json`, e.g. `users/create_or_update_many`. */
  path: string
  query?: Record<string, string>
  body?: unknown
  limitClass: LimitClass
  /** The person or record an endpoint limit is counted for (user email/external id, ticket id). */
  limitKey?: string
}

export interface ZendeskResponse<T = unknown> {
  status: number
  headers: Record<string, string>
  body: T
  /**
   * When the request left (epoch ms, the client's clock): after the rate limiter let it go, as the
   * HTTP exchange began. Whatever Zendesk did for it (a bulk call's job was queued) happened after
   * this, however late its answer was read. Absent from answers made up by tests.
   */
  sentAt?: number
}
