/**
 * Background jobs (facts §2.3, §7). State machine of one job:
 *
 *     queued ──(jobDelay / 2)──▶ working ──(jobDelay)──▶ completed   (results in request order)
 *                                                   └──▶ failed      (the work threw)
 *
 * - The bulk call answers at once with the `queued` job: `progress`, `message` and `results` null.
 * - The work (the actual writes) runs when the job completes, so nothing changes before then.
 * - At most `maxInflightJobs` (30) jobs may be queued or working; the next bulk call gets 429
 *   `TooManyJobs` (the status code is unverified, facts §7) and every job-creating answer carries
 *   `zendesk-ratelimit-inflight-jobs`.
 * - A job status expires `jobRetentionMs` after creation (404 afterwards).
 * Delays and retention are divided by the time scale.
 */
import type { Account, Json, JobRecord } from '../account.js'
import { ApiError } from '../errors.js'

export interface JobStart {
  job: JobRecord
  /** Headers the answer must carry (`zendesk-ratelimit-inflight-jobs`). */
  headers: Record<string, string>
}

function inflight(account: Account): JobRecord[] {
  return [...account.data.jobs.values()].filter((j) => j.status === 'queued' || j.status === 'working')
}

function inflightHeader(account: Account, inFlightCount: number): string {
  const total = account.config.maxInflightJobs
  return `total=${total}; remaining=${Math.max(0, total - inFlightCount)}; resets=${Math.max(1, Math.ceil(account.scaled(60_000) / 1000))}`
}

/**
 * Queues a job whose `work` runs on completion and returns one result per item, in request order.
 * Throws 429 TooManyJobs when the account already has the maximum in flight.
 */
export function startJob(
  account: Account,
  jobType: string,
  total: number | null,
  work: () => Json[],
): JobStart {
  const running = inflight(account)
  if (running.length >= account.config.maxInflightJobs) {
    throw new ApiError(
      429,
      {
        error: 'TooManyJobs',
        description: `Too many ${jobType.replace(/\s+/g, '')} jobs are currently queued or running. Try again later.`,
        current_job_ids: running.map((j) => j.id),
      },
      {
        'zendesk-ratelimit-inflight-jobs': inflightHeader(account, running.length),
        'retry-after': String(Math.max(1, Math.ceil(account.scaled(account.config.jobDelayMs) / 1000))),
      },
    )
  }
  const job: JobRecord = {
    id: `V3-${account.randomHex(32)}`,
    job_type: jobType,
    total,
    progress: null,
    status: 'queued',
    message: null,
    results: null,
    expiresAt: account.now() + account.scaled(account.config.jobRetentionMs),
  }
  account.data.jobs.set(job.id, job)
  const delay = account.scaled(account.config.jobDelayMs)
  account.schedule(delay / 2, () => {
    if (job.status === 'queued') {
      job.status = 'working'
      job.progress = 0
    }
  })
  account.schedule(delay, () => {
    try {
      const results = work()
      job.results = results
      job.status = 'completed'
      job.progress = total ?? results.length
      job.message = `Completed at ${account.nowIso().replace('T', ' ').replace('Z', ' +0000')}`
    } catch (err) {
      job.status = 'failed'
      job.message = err instanceof Error ? err.message : String(err)
    }
  })
  return { job, headers: { 'zendesk-ratelimit-inflight-jobs': inflightHeader(account, running.length + 1) } }
}

/** The job status as the API shows it, or null when unknown or expired. */
export function findJob(account: Account, id: string): JobRecord | null {
  const job = account.data.jobs.get(id)
  if (!job) {
    return null
  }
  if (job.expiresAt <= account.now()) {
    account.data.jobs.delete(id)
    return null
  }
  return job
}

export function presentJob(account: Account, job: JobRecord): Record<string, Json> {
  return {
    id: job.id,
    job_type: job.job_type,
    url: account.apiUrl(`job_statuses/${job.id}`),
    total: job.total,
    progress: job.progress,
    status: job.status,
    message: job.message,
    results: job.results,
  }
}
