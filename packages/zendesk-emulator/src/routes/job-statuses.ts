/**
 * Job statuses [D-jobs] (facts §7): show one, show many. Unknown or expired ids are 404.
 */
import { recordNotFound } from '../errors.js'
import { listParam, type RouteModule } from '../http.js'
import { findJob, presentJob } from '../model/jobs.js'

export const jobStatusRoutes: RouteModule = (app, { account }) => {
  app.get('/api/v2/job_statuses/show_many', (request) => {
    const ids = listParam(request, 'ids') ?? []
    const jobs = ids.flatMap((id) => {
      const job = findJob(account, id)
      return job ? [presentJob(account, job)] : []
    })
    return { job_statuses: jobs }
  })

  app.get('/api/v2/job_statuses/:job_status_id', (request) => {
    const { job_status_id: id } = request.params as { job_status_id: string }
    const job = findJob(account, id)
    if (!job) {
      throw recordNotFound()
    }
    return { job_status: presentJob(account, job) }
  })
}
