/**
 * The worker thread of threaded-sqlite-queue.ts: it owns the queue's SQLite connection and runs
 * each request of the main thread in turn, with the main thread's time (`now`), so an injected
 * clock still rules every timestamp. Payloads cross as JSON text, which the queue stores as is.
 */
import { parentPort, workerData } from 'node:worker_threads'

import { SqliteQueue, type SqliteQueueOptions } from './sqlite-queue.js'
import {
  fromColumns,
  JOB_ROW_FIELDS,
  SERIALIZED_JOB_FIELDS,
  serializeError,
  toColumns,
  type QueueThreadData,
  type QueueThreadRequest,
} from './thread-protocol.js'

const port = parentPort
if (port === null) {
  throw new Error('sqlite-queue-thread.ts runs as a worker thread only')
}
const data = workerData as QueueThreadData
let now = 0
let queue: SqliteQueue
try {
  const options: SqliteQueueOptions = { ...data.options, clock: { now: () => now } }
  queue = new SqliteQueue(options)
  port.postMessage({ type: 'ready', info: queue.info })
} catch (err) {
  port.postMessage({ type: 'failed', error: serializeError(err) })
  port.close()
}

async function run(q: SqliteQueue, r: QueueThreadRequest): Promise<unknown> {
  switch (r.op) {
    case 'enqueue':
      return q.enqueueRows(fromColumns(r.jobs, SERIALIZED_JOB_FIELDS))
    case 'claim':
      return toColumns(q.claimRows(r.opts), JOB_ROW_FIELDS)
    case 'extendLease':
      return q.extendLease(r.ids, r.leaseMs)
    case 'complete':
      return q.complete(r.ids)
    case 'retry':
      return q.retry(r.id, r.availableAt, r.error, r.spendAttempt)
    case 'fail':
      return q.fail(r.id, r.error)
    case 'park':
      return q.park(r.ids, r.reason)
    case 'unpark':
      return q.unpark(r.destinationId)
    case 'replay':
      return q.replay(r.destinationId, r.ids)
    case 'get':
      return q.getRow(r.id)
    case 'list':
      return q.listRows(r.destinationId, r.state, r.limit)
    case 'counts':
      return q.counts(r.destinationId)
    case 'backlog':
      return q.backlog()
    case 'purge':
      return q.purge(r.olderThanMs)
    case 'runStatements':
      return q.runStatements(r.batch)
    case 'close':
      return q.close()
  }
}

port.on('message', (message: { id: number; now: number; request: QueueThreadRequest }) => {
  now = message.now
  run(queue, message.request).then(
    (value) => port.postMessage({ id: message.id, ok: true, value }),
    (err: unknown) => port.postMessage({ id: message.id, ok: false, error: serializeError(err) }),
  )
})
