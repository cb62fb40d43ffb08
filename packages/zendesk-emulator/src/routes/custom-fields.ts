import type { RouteModule } from '../http.js'

export const customFieldRoutes: RouteModule = (_app, _ctx) => {}
