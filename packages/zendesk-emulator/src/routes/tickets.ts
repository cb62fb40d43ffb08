import type { RouteModule } from '../http.js'

export const ticketRoutes: RouteModule = (_app, _ctx) => {}
