import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router'
import HomeView from './views/HomeView.vue'
import OverviewView from './views/OverviewView.vue'
import NotBuiltView from './views/NotBuiltView.vue'
import LabelView from './views/LabelView.vue'
import LibraryView from './views/LibraryView.vue'
import TrainView from './views/TrainView.vue'
import { evaluateRoutes } from './features/evaluate'
import { insightsRoutes } from './features/insights'
import { reviewRoutes } from './features/review'

const featureRoutes: RouteRecordRaw[] = [...reviewRoutes, ...insightsRoutes, ...evaluateRoutes]
const hasRoute = (name: string) => featureRoutes.some((r) => r.name === name)

/** The areas of a project; the ones later issues build show what they will do, honestly. */
export const AREAS = [
  { path: 'overview', label: 'Overview', built: true, about: '' },
  { path: 'library', label: 'Library', built: true, about: '' },
  { path: 'label', label: 'Label', built: true, about: '' },
  { path: 'review', label: 'Review', built: hasRoute('review'), about: 'Walk the images flagged as likely mislabeled, duplicated or leaking.' },
  { path: 'dashboard', label: 'Dashboard', built: hasRoute('dashboard'), about: 'Class balance, class x environment and class x subgroup.' },
  { path: 'train', label: 'Train', built: true, about: '' },
  { path: 'evaluate', label: 'Evaluate', built: hasRoute('evaluate'), about: 'Confusion matrix, per-class and per-environment results, calibration.' },
  { path: 'export', label: 'Export', built: hasRoute('export'), about: 'The model with its labels, preprocessing spec and model card.' }
]

const routes: RouteRecordRaw[] = [
  { path: '/', name: 'home', component: HomeView },
  { path: '/overview', name: 'overview', component: OverviewView, meta: { needsProject: true } },
  { path: '/library', name: 'library', component: LibraryView, meta: { needsProject: true } },
  { path: '/label', name: 'label', component: LabelView, meta: { needsProject: true } },
  { path: '/train', name: 'train', component: TrainView, meta: { needsProject: true } },
  ...featureRoutes,
  ...AREAS.filter((a) => !a.built).map((a) => ({
    path: `/${a.path}`,
    name: a.path,
    component: NotBuiltView,
    props: { title: a.label, about: a.about },
    meta: { needsProject: true }
  }))
]

// Hash history: the desktop app loads index.html from a file, where paths cannot be routed.
export const router = createRouter({ history: createWebHashHistory(), routes })
