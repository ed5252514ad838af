// Routes of label-noise flags and the review queue (issue 7). A route named after an area in src/renderer/src/router.ts marks it built.
import type { RouteRecordRaw } from 'vue-router'
import ReviewView from '../views/ReviewView.vue'

export const reviewRoutes: RouteRecordRaw[] = [{ path: '/review', name: 'review', component: ReviewView, meta: { needsProject: true } }]
