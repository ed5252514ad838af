import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { AppInfo, ProjectSummary, RecentProject } from '../../../shared/domain'
import { errorMessage, useApi } from '../services/api'

export const useProjectStore = defineStore('project', () => {
  const summary = ref<ProjectSummary | null>(null)
  const recent = ref<RecentProject[]>([])
  const app = ref<AppInfo | null>(null)
  const busy = ref(false)
  const error = ref<string | null>(null)
  let unsubscribe: (() => void) | null = null

  const isOpen = computed(() => summary.value !== null)

  async function init(): Promise<void> {
    const api = useApi()
    unsubscribe ??= api.on('project.changed', (next) => {
      summary.value = next
    })
    const [info, list] = await Promise.all([api.app.info({}), api.project.recent({})])
    app.value = info
    recent.value = list
    try {
      summary.value = await api.project.summary({})
    } catch {
      summary.value = null // nothing open yet
    }
  }

  async function run(work: () => Promise<ProjectSummary>): Promise<boolean> {
    busy.value = true
    error.value = null
    try {
      summary.value = await work()
      recent.value = await useApi().project.recent({})
      return true
    } catch (err) {
      error.value = errorMessage(err)
      return false
    } finally {
      busy.value = false
    }
  }

  const create = (dir: string, classes: string[], name?: string) =>
    run(() => useApi().project.create({ dir, classes, ...(name ? { name } : {}) }))
  const open = (dir: string) => run(() => useApi().project.open({ dir }))

  async function close(): Promise<void> {
    await useApi().project.close({})
    summary.value = null
  }

  async function forget(dir: string): Promise<void> {
    recent.value = await useApi().project.forgetRecent({ dir })
  }

  async function chooseFolder(purpose: 'open' | 'create'): Promise<string | null> {
    try {
      return (await useApi().dialog.chooseFolder({ purpose })).path
    } catch (err) {
      error.value = errorMessage(err)
      return null
    }
  }

  /** Re-reads the counts after labeling: label events skip this to keep each keypress cheap. */
  async function refresh(): Promise<void> {
    if (summary.value) summary.value = await useApi().project.summary({})
  }

  function dispose(): void {
    unsubscribe?.()
    unsubscribe = null
  }

  return { summary, recent, app, busy, error, isOpen, init, create, open, close, forget, chooseFolder, refresh, dispose }
})
