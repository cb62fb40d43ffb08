/** Every action that exists, by id (the id subscriptions store). */
import type { AnyAction } from './define-action.js'
import { trackEvent } from './track-event/track-event.js'
import { upsertUser } from './upsert-user/upsert-user.js'

export const ACTIONS: ReadonlyMap<string, AnyAction> = new Map(
  [upsertUser as unknown as AnyAction, trackEvent as unknown as AnyAction].map((a) => [a.id, a]),
)

export function findAction(id: string): AnyAction | undefined {
  return ACTIONS.get(id)
}
