import type { RouteModule } from '../http.js'

export const organizationRoutes: RouteModule = (_app, _ctx) => {}
