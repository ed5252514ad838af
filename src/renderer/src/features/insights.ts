// Routes of dashboards and the preflight checklist (issue 8). A route named after an area in src/renderer/src/router.ts marks it built.
import type { RouteRecordRaw } from 'vue-router'

export const insightsRoutes: RouteRecordRaw[] = []
