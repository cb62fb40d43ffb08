/**
 * Statements of one store run on another store's connection to the same SQLite file (the
 * interface; the queue's thread implements it, `ThreadedSqliteQueue.runStatements`): the delivery
 * log hands the queue's thread its SQL and rows, so its writes leave the service's event loop,
 * and neither module knows the other.
 */

/** Parameter values of SQLite statements. */
export type SqlValue = string | number | bigint | null

/** Statements, each with the parameter rows it runs for, in order. */
export type SqlStatementBatch = { sql: string; rows: SqlValue[][] }[]

export interface SqlStatementRunner {
  /** Runs the batch in one write transaction; resolves once it is committed. */
  runStatements(batch: SqlStatementBatch): Promise<void>
}
