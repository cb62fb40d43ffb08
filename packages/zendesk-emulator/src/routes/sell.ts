import type { RouteModule } from '../http.js'

export const sellRoutes: RouteModule = (_app, _ctx) => {}
