/**
 * The request log behind `GET /__emulator/requests`: method, path, query, status, auth kind and
 * time of every request, newest last. It keeps the last `capacity` entries and counts all of them,
 * so benchmarks can count requests without keeping millions of entries.
 */
import type { AuthKind } from './auth.js'

export interface RequestLogEntry {
  seq: number
  method: string
  path: string
  query: string
  /** HTTP status, or 0 when the connection was hung or reset by a fault. */
  status: number
  authKind: AuthKind
  /** ISO time the request arrived. */
  time: string
  durationMs: number
  /** The fault applied, if any (`status 503`, `hang`, `reset`). */
  fault: string | null
}

export class RequestLog {
  private entries: RequestLogEntry[] = []
  private seq = 0
  private readonly capacity: number
  private readonly now: () => number
  private started = new WeakMap<RequestLogEntry, number>()

  constructor(now: () => number, capacity = 200_000) {
    this.now = now
    this.capacity = capacity
  }

  start(e: { method: string; path: string; query: string; authKind: AuthKind }): RequestLogEntry {
    this.seq += 1
    const t = this.now()
    const entry: RequestLogEntry = {
      seq: this.seq,
      ...e,
      status: 0,
      time: new Date(t).toISOString(),
      durationMs: 0,
      fault: null,
    }
    this.started.set(entry, t)
    this.entries.push(entry)
    if (this.entries.length > this.capacity) {
      this.entries.splice(0, this.entries.length - this.capacity)
    }
    return entry
  }

  finish(entry: RequestLogEntry, status: number): void {
    entry.status = status
    entry.durationMs = this.now() - (this.started.get(entry) ?? this.now())
  }

  /** Entries with `seq` greater than `since`, optionally filtered by path substring. */
  list(opts: { since?: number; path?: string } = {}): RequestLogEntry[] {
    return this.entries.filter(
      (e) => e.seq > (opts.since ?? 0) && (opts.path === undefined || e.path.includes(opts.path)),
    )
  }

  /** Number of requests seen since start or the last clear. */
  get total(): number {
    return this.seq
  }

  clear(): void {
    this.entries = []
    this.seq = 0
  }
}
