import type { RouteModule } from '../http.js'

export const userRoutes: RouteModule = (_app, _ctx) => {}
