/**
 * What the main thread and the queue's thread (threaded-sqlite-queue.ts, sqlite-queue-thread.ts)
 * say to each other: one request per Queue method, answered in order, and errors as plain data
 * that become the same errors again on the main thread (an AppError keeps its kind and code, a
 * SQLite error its code).
 */
import { AppError, ERROR_KINDS, type ErrorKind } from '../errors.js'
import type { SqlStatementBatch } from '../lib/sql-statements.js'
import type { ClaimOptions, JobState } from './queue.js'
import type { JobRow, SerializedJob, SqliteQueueOptions } from './sqlite-queue.js'

export interface QueueThreadData {
  /** The queue's options but its clock: time comes with each request. */
  options: Omit<SqliteQueueOptions, 'clock'>
}

export type QueueThreadRequest =
  | { op: 'enqueue'; jobs: Columns<SerializedJob> }
  | { op: 'claim'; opts: ClaimOptions }
  | { op: 'extendLease'; ids: number[]; leaseMs: number }
  | { op: 'complete'; ids: number[] }
  | { op: 'retry'; id: number; availableAt: number; error: string; spendAttempt?: boolean }
  | { op: 'fail'; id: number; error: string }
  | { op: 'park'; ids: number[]; reason: string }
  | { op: 'unpark'; destinationId: string }
  | { op: 'replay'; destinationId: string; ids?: number[] }
  | { op: 'get'; id: number }
  | { op: 'list'; destinationId: string; state: JobState; limit: number }
  | { op: 'counts'; destinationId?: string }
  | { op: 'backlog' }
  | { op: 'purge'; olderThanMs?: number }
  | { op: 'runStatements'; batch: SqlStatementBatch }
  | { op: 'close' }

/**
 * Records as columns, one array per field: a message of a few arrays is cloned across the thread
 * in about half the time of the same records as objects (measured: 100 batches of 100 new jobs,
 * ~10 ms against ~5; 10,000 claimed rows, ~22 ms against ~14 with the conversions). Ingest sends
 * each request's jobs so, and claims answer so.
 */
export type Columns<T> = { [K in keyof T]: T[K][] }

export function toColumns<T extends object>(records: T[], fields: readonly (keyof T)[]): Columns<T> {
  const columns = {} as Record<keyof T, unknown[]>
  for (const field of fields) {
    columns[field] = records.map((r) => r[field])
  }
  return columns as Columns<T>
}

export function fromColumns<T extends object>(columns: Columns<T>, fields: readonly (keyof T)[]): T[] {
  const count = fields[0] === undefined ? 0 : columns[fields[0]].length
  return Array.from({ length: count }, (_, i) => {
    const record = {} as Record<keyof T, unknown>
    for (const field of fields) {
      record[field] = columns[field][i]
    }
    return record as T
  })
}

export const SERIALIZED_JOB_FIELDS = [
  'destinationId',
  'orderingKey',
  'dedupeKey',
  'payloadJson',
] as const satisfies readonly (keyof SerializedJob)[]

export const JOB_ROW_FIELDS = [
  'id',
  'destination_id',
  'ordering_key',
  'dedupe_key',
  'payload',
  'state',
  'attempts',
  'available_at',
  'leased_until',
  'last_error',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof JobRow)[]

export interface SerializedError {
  name: string
  message: string
  code?: string
  kind?: ErrorKind
  stack?: string
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof AppError) {
    return { name: err.name, message: err.message, code: err.code, kind: err.kind, ...stackOf(err) }
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    return {
      name: err.name,
      message: err.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...stackOf(err),
    }
  }
  return { name: 'Error', message: String(err) }
}

function stackOf(err: Error): { stack?: string } {
  return err.stack === undefined ? {} : { stack: err.stack }
}

export function deserializeError(e: SerializedError): Error {
  const err =
    e.name === 'AppError'
      ? new AppError(e.kind ?? ERROR_KINDS.internal, e.code ?? 'QUEUE_ERROR', e.message)
      : Object.assign(new Error(e.message), e.code === undefined ? {} : { code: e.code })
  err.name = e.name
  if (e.stack !== undefined) {
    err.stack = e.stack
  }
  return err
}
