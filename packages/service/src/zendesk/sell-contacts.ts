/**
 * Request builders for Zendesk Sell contacts (facts §10) [basecrm-ruby]. Sell lives on its own
 * host (`{sell base}/v2`), takes a bearer token, wraps bodies as `{"data": {…}}`, and allows
 * 36,000 requests an hour per token (`limitClass: 'sell'`, kept by the client's rate limiter).
 */
import type { ZendeskRequest } from './request.js'

/** What we write on a contact; `custom_fields` merges by custom-field name. */
export interface SellContactInput {
  last_name?: string
  first_name?: string
  email?: string
  custom_fields?: Record<string, unknown>
  [attribute: string]: unknown
}

/**
 * `POST /v2/contacts/upsert?<filters>` with `{"data": {…}}`: creates the contact, or updates the one
 * matching every filter (at least one filter is required; several matches are an error).
 * Filters: `email`, `name`, … or `custom_fields[<name>]`.
 */
export function upsertContact(filters: Record<string, string>, data: SellContactInput): ZendeskRequest {
  if (Object.keys(filters).length === 0) {
    throw new RangeError('a Sell contact upsert needs at least one filter')
  }
  return {
    api: 'sell',
    method: 'POST',
    path: 'contacts/upsert',
    query: filters,
    body: { data },
    limitClass: 'sell',
  }
}
