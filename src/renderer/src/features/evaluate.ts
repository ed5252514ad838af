// Routes of evaluation, export and prediction (issue 6). A route named after an area in src/renderer/src/router.ts marks it built.
import type { RouteRecordRaw } from 'vue-router'

export const evaluateRoutes: RouteRecordRaw[] = []
