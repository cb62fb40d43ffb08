/**
 * Statements of one store run on another store's connection to the same SQLite file (the
 * interface; the queue's thread implements it, `ThreadedSqliteQueue.runStatements`): the delivery
 * log hands the queue's thread its SQL and rows, so its writes leave the service's event loop,
 * and neither module knows the other. `sqliteBatchRunner` runs such batches on a connection.
 */
import type Database from 'better-sqlite3'

/** Parameter values of SQLite statements. */
export type SqlValue = string | number | bigint | null

/** Statements, each with the parameter rows it runs for, in order. */
export type SqlStatementBatch = { sql: string; rows: SqlValue[][] }[]

export interface SqlStatementRunner {
  /** Runs the batch in one write transaction; resolves once it is committed. */
  runStatements(batch: SqlStatementBatch): Promise<void>
}

/**
 * Runs batches on a better-sqlite3 connection, each in one `BEGIN IMMEDIATE` transaction,
 * preparing each SQL text once: the queue's thread runs other stores' batches with it, and a
 * store without that thread runs its own.
 */
export function sqliteBatchRunner(db: Database.Database): (batch: SqlStatementBatch) => void {
  const prepared = new Map<string, Database.Statement<SqlValue[]>>()
  const run = db.transaction((batch: SqlStatementBatch) => {
    for (const { sql, rows } of batch) {
      let statement = prepared.get(sql)
      if (statement === undefined) {
        statement = db.prepare<SqlValue[]>(sql)
        prepared.set(sql, statement)
      }
      for (const row of rows) {
        statement.run(...row)
      }
    }
  })
  return (batch) => run.immediate(batch)
}
