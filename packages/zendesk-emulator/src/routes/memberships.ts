import type { RouteModule } from '../http.js'

export const membershipRoutes: RouteModule = (_app, _ctx) => {}
