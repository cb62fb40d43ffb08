/**
 * Request builders for the Events API [D-events] (facts §9): one event per call; the answer is
 * 202 `{profile_id, status: "received", user_id}`. Not in Zendesk's OpenAPI document.
 */
import type { ZendeskRequest } from './request.js'

export interface ProfileIdentifier {
  type: string
  value: string
}

export interface UserEventBody {
  profile: {
    source: string
    type: string
    name?: string
    identifiers: ProfileIdentifier[]
  }
  event: {
    source: string
    type: string
    description?: string
    created_at?: string
    properties: Record<string, unknown>
  }
}

/** `POST /api/v2/user_profiles/events`: the profile is matched or created from its identifiers. */
export function trackEvent(body: UserEventBody): ZendeskRequest {
  return { api: 'support', method: 'POST', path: 'user_profiles/events', body, limitClass: 'account' }
}

/** `POST /api/v2/users/{user_id}/events`: the event for an existing Zendesk user. */
export function trackUserEvent(userId: number, body: UserEventBody): ZendeskRequest {
  return { api: 'support', method: 'POST', path: `users/${userId}/events`, body, limitClass: 'account' }
}
