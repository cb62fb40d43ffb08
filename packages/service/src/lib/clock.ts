/** Time, injected everywhere it matters so that tests can run on a fake clock. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** A clock that moves only when told to. */
export class FakeClock implements Clock {
  private t: number

  constructor(start = Date.parse('2026-11-21T00:00:00Z')) {
    this.t = start
  }

  now(): number {
    return this.t
  }

  advance(ms: number): void {
    this.t += ms
  }
}
