import type { RouteModule } from '../http.js'

export const eventRoutes: RouteModule = (_app, _ctx) => {}
