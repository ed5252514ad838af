// Dashboards and the preflight checklist: one store for the figures, the verdicts and overrides.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { CheckId, ChecklistReport, DashboardData, ProposedConfig } from '../../../shared/insights'
import { errorMessage, useApi } from '../services/api'

/** Offers a file to the user from the page (works in Electron and in a browser). */
export function download(name: string, data: Blob | string): void {
  const url = typeof data === 'string' ? data : URL.createObjectURL(data)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  if (typeof data !== 'string') setTimeout(() => URL.revokeObjectURL(url), 1000)
}

export const useInsightsStore = defineStore('insights', () => {
  const api = useApi()
  const dashboard = ref<DashboardData | null>(null)
  const dashboardError = ref<string | null>(null)
  const loadingDashboard = ref(false)
  const checklist = ref<ChecklistReport | null>(null)
  const checklistError = ref<string | null>(null)
  const evaluating = ref(false)
  let asked = 0

  async function loadDashboard(): Promise<void> {
    loadingDashboard.value = true
    dashboardError.value = null
    try {
      dashboard.value = await api.insights.dashboard({})
    } catch (err) {
      dashboardError.value = errorMessage(err)
    } finally {
      loadingDashboard.value = false
    }
  }

  async function saveReport(): Promise<string> {
    const r = await api.insights.report({})
    download(r.fileName, new Blob([r.html], { type: 'text/html' }))
    return r.fileName
  }

  /** Judges a config; when calls overlap, only the latest answer is kept. */
  async function evaluate(config: ProposedConfig): Promise<void> {
    const mine = ++asked
    evaluating.value = true
    try {
      const report = await api.insights.checklist({ config: config as Record<string, unknown> })
      if (mine !== asked) return
      checklist.value = report
      checklistError.value = null
    } catch (err) {
      if (mine === asked) checklistError.value = errorMessage(err)
    } finally {
      if (mine === asked) evaluating.value = false
    }
  }

  async function override(checkId: CheckId, reason: string, annotator: string, config: ProposedConfig): Promise<void> {
    await api.insights.override({ checkId, reason, annotator })
    await evaluate(config)
  }

  async function clearOverride(checkId: CheckId, config: ProposedConfig): Promise<void> {
    await api.insights.clearOverride({ checkId })
    await evaluate(config)
  }

  return { dashboard, dashboardError, loadingDashboard, loadDashboard, saveReport, checklist, checklistError, evaluating, evaluate, override, clearOverride }
})
