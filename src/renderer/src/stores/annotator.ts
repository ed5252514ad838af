import { defineStore } from 'pinia'
import { ref, watch } from 'vue'

const KEY = 'freezeframe.annotator'

/** Who is labeling, set once and remembered on this machine; stored with every label. */
export const useAnnotatorStore = defineStore('annotator', () => {
  const saved = JSON.parse(localStorage.getItem(KEY) ?? '{}') as { name?: string; blind?: boolean; autoAdvance?: boolean }
  const name = ref(saved.name ?? 'me')
  const blind = ref(saved.blind ?? false)
  const autoAdvance = ref(saved.autoAdvance ?? true)
  watch([name, blind, autoAdvance], () =>
    localStorage.setItem(KEY, JSON.stringify({ name: name.value, blind: blind.value, autoAdvance: autoAdvance.value }))
  )
  return { name, blind, autoAdvance }
})
