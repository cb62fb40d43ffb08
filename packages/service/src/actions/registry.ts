/** Every action that exists, by id (the id subscriptions store). */
import { aliasExternalId } from './alias-external-id/alias-external-id.js'
import { createTicket } from './create-ticket/create-ticket.js'
import type { AnyAction } from './define-action.js'
import { syncAudienceToSellContacts } from './sync-audience-to-sell-contacts/sync-audience-to-sell-contacts.js'
import { syncAudienceToSupportUsers } from './sync-audience-to-support-users/sync-audience-to-support-users.js'
import { trackEvent } from './track-event/track-event.js'
import { updateOrganizationMembership } from './update-organization-membership/update-organization-membership.js'
import { updateTicket } from './update-ticket/update-ticket.js'
import { upsertOrganization } from './upsert-organization/upsert-organization.js'
import { upsertUser } from './upsert-user/upsert-user.js'

export const ACTIONS: ReadonlyMap<string, AnyAction> = new Map(
  [
    upsertUser as unknown as AnyAction,
    trackEvent as unknown as AnyAction,
    aliasExternalId as unknown as AnyAction,
    createTicket as unknown as AnyAction,
    updateTicket as unknown as AnyAction,
    upsertOrganization as unknown as AnyAction,
    updateOrganizationMembership as unknown as AnyAction,
    // Audience activations (preset: false): configured per destination under `activations`.
    syncAudienceToSupportUsers as unknown as AnyAction,
    syncAudienceToSellContacts as unknown as AnyAction,
  ].map((a) => [a.id, a]),
)

export function findAction(id: string): AnyAction | undefined {
  return ACTIONS.get(id)
}
