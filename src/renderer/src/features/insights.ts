// Routes of dashboards and the preflight checklist (issue 8). A route named after an area in src/renderer/src/router.ts marks it built.
import type { RouteRecordRaw } from 'vue-router'
import DashboardView from '../views/DashboardView.vue'

export const insightsRoutes: RouteRecordRaw[] = [{ path: '/dashboard', name: 'dashboard', component: DashboardView, meta: { needsProject: true } }]
