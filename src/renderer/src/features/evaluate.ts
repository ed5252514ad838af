// Routes of evaluation, export and prediction (issue 6). A route named after an area in src/renderer/src/router.ts marks it built.
import type { RouteRecordRaw } from 'vue-router'
import EvaluateView from '../views/EvaluateView.vue'
import ExportView from '../views/ExportView.vue'

export const evaluateRoutes: RouteRecordRaw[] = [
  { path: '/evaluate', name: 'evaluate', component: EvaluateView, meta: { needsProject: true } },
  { path: '/export', name: 'export', component: ExportView, meta: { needsProject: true } }
]
