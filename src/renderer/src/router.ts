import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router'
import HomeView from './views/HomeView.vue'
import OverviewView from './views/OverviewView.vue'
import LabelView from './views/LabelView.vue'
import LibraryView from './views/LibraryView.vue'
import TrainView from './views/TrainView.vue'
import { evaluateRoutes } from './features/evaluate'
import { insightsRoutes } from './features/insights'
import { reviewRoutes } from './features/review'

const featureRoutes: RouteRecordRaw[] = [...reviewRoutes, ...insightsRoutes, ...evaluateRoutes]

/** The areas of a project, in the sidebar's order; each is a route of the same name. */
export const AREAS = [
  { path: 'overview', label: 'Overview' },
  { path: 'library', label: 'Library' },
  { path: 'label', label: 'Label' },
  { path: 'review', label: 'Review' },
  { path: 'dashboard', label: 'Dashboard' },
  { path: 'train', label: 'Train' },
  { path: 'evaluate', label: 'Evaluate' },
  { path: 'export', label: 'Export' }
]

const routes: RouteRecordRaw[] = [
  { path: '/', name: 'home', component: HomeView },
  { path: '/overview', name: 'overview', component: OverviewView, meta: { needsProject: true } },
  { path: '/library', name: 'library', component: LibraryView, meta: { needsProject: true } },
  { path: '/label', name: 'label', component: LabelView, meta: { needsProject: true } },
  { path: '/train', name: 'train', component: TrainView, meta: { needsProject: true } },
  ...featureRoutes
]

// Hash history: the desktop app loads index.html from a file, where paths cannot be routed.
export const router = createRouter({ history: createWebHashHistory(), routes })
