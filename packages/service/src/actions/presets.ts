/**
 * Default subscriptions: what a destination does out of the box when its configuration lists
 * none. Each action's default trigger and default mappings reproduce the peers' behaviour.
 */
import type { MappingValue } from '../mapping/mapping.js'
import type { Trigger } from './define-action.js'
import { ACTIONS } from './registry.js'

export interface SubscriptionSpec {
  actionId: string
  trigger: Trigger
  mapping?: Record<string, MappingValue>
}

export function defaultSubscriptions(): SubscriptionSpec[] {
  // Optional actions (`preset: false`) run only where a subscription names them.
  return [...ACTIONS.values()]
    .filter((a) => a.preset !== false)
    .map((a) => ({ actionId: a.id, trigger: a.defaultTrigger }))
}
