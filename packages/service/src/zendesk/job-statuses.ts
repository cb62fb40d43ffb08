/**
 * Job statuses [D-jobs] (facts §2.3, §7): the answer of every bulk call, and how to read its
 * per-item results. Results come in request order; their shapes differ by job kind and between
 * the docs and recorded traffic, so every key is optional and `status`/`success` decide.
 */
import { AppError, ERROR_KINDS } from '../errors.js'
import type { ZendeskRequest } from './request.js'

export interface JobStatus {
  id: string
  status: 'queued' | 'working' | 'completed' | 'failed' | 'killed'
  total: number | null
  progress: number | null
  message: string | null
  results: JobResult[] | null
}

export interface JobResult {
  id?: number
  index?: number
  status?: string
  success?: boolean
  action?: string
  error?: string
  details?: string
  email?: string
  external_id?: string
}

/** `GET /api/v2/job_statuses/show_many?ids=…` (≤ 100 ids). */
export function showMany(ids: string[]): ZendeskRequest {
  return {
    api: 'support',
    method: 'GET',
    path: 'job_statuses/show_many',
    query: { ids: ids.join(',') },
    limitClass: 'account',
  }
}

export function isFinished(job: JobStatus): boolean {
  return job.status === 'completed' || job.status === 'failed' || job.status === 'killed'
}

/** Whether one item of a completed job failed. */
export function isFailedResult(r: JobResult): boolean {
  return r.status === 'Failed' || r.success === false || r.error !== undefined
}

/**
 * The result for the item at `position` of a bulk job. Results come one per item in request
 * order (facts §2.3, §7); where a result carries an `index` that disagrees, the index wins.
 */
export function resultAt(results: JobResult[], position: number): JobResult | undefined {
  const inOrder = results[position]
  if (inOrder && (inOrder.index === undefined || inOrder.index === position)) {
    return inOrder
  }
  return results.find((r) => r.index === position)
}

/** The error of a failed item: Zendesk refused that record (`ZD_ITEM_<ERROR>`, with its details). */
export function failedResultError(r: JobResult): AppError {
  return new AppError(
    ERROR_KINDS.rejected,
    `ZD_ITEM_${(r.error ?? 'FAILED').toUpperCase()}`,
    r.details ?? r.error ?? 'failed',
  )
}
