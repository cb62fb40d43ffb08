/**
 * Node's helper threads at a lower CPU priority than the threads that serve requests.
 *
 * Besides the main thread, a Node process starts threads of its own before any of our code runs:
 * V8's platform workers (4 by default), which compile hot functions with TurboFan and help the
 * garbage collector; the platform's delayed-task thread; and libuv's pool (file system, DNS,
 * zlib). On a machine short of cores they compete with the main thread (ingest, delivery) and
 * the queue's thread (queue/threaded-sqlite-queue.ts) for the same CPU: in a sync right after
 * start, V8's compilers used about as much CPU as the main thread, and the main thread spent
 * nearly as long waiting to run as running (bench/README.md, "Helper threads at a lower
 * priority"). Chrome runs V8's background compiles on lower-priority threads for the same
 * reason; Node does not, so the service lowers them itself, once, at start:
 *
 * - every thread that exists when it is called but the main one gets `niceness` (Linux's
 *   per-thread nice value, 0–19; `os.setPriority` takes a thread id there), unless it is at that
 *   value or above already. Only lowering: a process may always do that, whatever its privileges.
 * - threads started later (the queue's thread, the in-process sandbox's) inherit the main
 *   thread's priority: main.ts calls this before it starts any.
 * - a lower priority only matters when the CPU is short: idle cores still run them at once.
 * - where threads cannot be listed (not Linux) nothing changes; a thread that cannot be changed
 *   (it ended meanwhile) is counted and skipped.
 *
 * `HELPER_THREAD_NICENESS` sets it (default 10; 0 leaves every thread as it is).
 */

import { readdirSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'

/** What lowering needs from the system: the process's threads, and each one's priority. */
export interface ThreadControl {
  /** The ids of the process's threads, or null where they cannot be listed. */
  threadIds(): number[] | null
  priorityOf(threadId: number): number
  setPriority(threadId: number, niceness: number): void
}

export interface LoweredThreads {
  /** The threads now at the lower priority (or at a lower one already). */
  lowered: number[]
  /** Threads that could not be changed (ended meanwhile, or refused). */
  failed: number
  /** False where the threads could not be listed (nothing was changed). */
  supported: boolean
}

/** Gives every thread but `mainThreadId` the nice value `niceness` (see the header). */
export function lowerHelperThreads(
  mainThreadId: number,
  niceness: number,
  threads: ThreadControl,
): LoweredThreads {
  if (niceness <= 0) {
    return { lowered: [], failed: 0, supported: true }
  }
  const ids = threads.threadIds()
  if (ids === null) {
    return { lowered: [], failed: 0, supported: false }
  }
  const lowered: number[] = []
  let failed = 0
  for (const id of ids) {
    if (id === mainThreadId) {
      continue
    }
    try {
      // Only ever lower: a thread already at that nice value or above (a process started with
      // `nice`) keeps its own, and raising it would need a privilege.
      if (threads.priorityOf(id) < niceness) {
        threads.setPriority(id, niceness)
      }
      lowered.push(id)
    } catch {
      failed += 1
    }
  }
  return { lowered, failed, supported: true }
}

/** The running process's threads, from Linux's /proc (null elsewhere). */
export const processThreads: ThreadControl = {
  threadIds() {
    try {
      return readdirSync('/proc/self/task').map(Number)
    } catch {
      return null
    }
  },
  priorityOf(threadId) {
    return getPriority(threadId)
  },
  setPriority(threadId, niceness) {
    setPriority(threadId, niceness)
  },
}
