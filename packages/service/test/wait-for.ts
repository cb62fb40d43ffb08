/**
 * Waiting in tests for something the service or the emulator does in its own time: `check` is
 * called again and again until its answer will do, or the time is up.
 */
import { setTimeout as delay } from 'node:timers/promises'

async function pollUntil<T>(
  check: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
  intervalMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (done(value)) {
      return value
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`)
    }
    await delay(intervalMs)
  }
}

/** Polls `check` (every 20 ms unless told) until it returns a truthy value, which it returns. */
export function waitFor<T>(
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<T> {
  return pollUntil(check, Boolean, timeoutMs, intervalMs, 'the condition') as Promise<T>
}

/** Polls `check` every 100 ms until it returns anything but null (false and 0 too); the timeout names `what`. */
export function waitForValue<T>(check: () => Promise<T | null>, timeoutMs: number, what: string): Promise<T> {
  return pollUntil(check, (v) => v !== null, timeoutMs, 100, what) as Promise<T>
}
