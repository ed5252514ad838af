// Routes of label-noise flags and the review queue (issue 7). A route named after an area in src/renderer/src/router.ts marks it built.
import type { RouteRecordRaw } from 'vue-router'

export const reviewRoutes: RouteRecordRaw[] = []
