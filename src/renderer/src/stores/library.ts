import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { ActionResult } from '../../../shared/domain'
import type { Facets, ImageCard, LibraryFilter, LibrarySort } from '../../../shared/library'
import { errorMessage, useApi } from '../services/api'
import { useAnnotatorStore } from './annotator'

const CHUNK = 200

/**
 * The grid's data: the filter, a sparse cache of cards fetched in chunks as rows scroll into
 * view, and the selection. Any label change drops the cache so the grid re-reads what it shows.
 */
export const useLibraryStore = defineStore('library', () => {
  const filter = ref<LibraryFilter>({})
  const sort = ref<LibrarySort>('added')
  const total = ref(0)
  const cards = shallowRef(new Map<number, ImageCard>())
  const selected = ref(new Set<number>())
  const anchor = ref<number | null>(null)
  const facets = ref<Facets | null>(null)
  const error = ref<string | null>(null)
  const canUndo = ref(false)
  const canRedo = ref(false)
  const loading = new Set<number>()
  let generation = 0

  const selectedCount = computed(() => selected.value.size)

  async function refresh(): Promise<void> {
    generation++
    loading.clear()
    cards.value = new Map()
    const api = useApi()
    try {
      const [page, f, state] = await Promise.all([
        api.library.query({ filter: filter.value, sort: sort.value, offset: 0, limit: CHUNK }),
        api.library.facets({}),
        api.label.undoState({ annotator: useAnnotatorStore().name })
      ])
      total.value = page.total
      facets.value = f
      canUndo.value = state.canUndo
      canRedo.value = state.canRedo
      store(0, page.items)
      loading.add(0)
      error.value = null
    } catch (err) {
      error.value = errorMessage(err)
    }
  }

  function store(offset: number, items: ImageCard[]): void {
    const next = new Map(cards.value)
    items.forEach((card, i) => next.set(offset + i, card))
    cards.value = next
  }

  /** Makes sure the cards from index `from` to `to` are loaded (or loading). */
  async function ensure(from: number, to: number): Promise<void> {
    const gen = generation
    const first = Math.floor(Math.max(0, from) / CHUNK)
    const last = Math.floor(Math.max(0, Math.min(to, total.value - 1)) / CHUNK)
    for (let c = first; c <= last; c++) {
      if (loading.has(c)) continue
      loading.add(c)
      const page = await useApi().library.query({ filter: filter.value, sort: sort.value, offset: c * CHUNK, limit: CHUNK })
      if (gen !== generation) return
      store(c * CHUNK, page.items)
    }
  }

  function setFilter(next: LibraryFilter): Promise<void> {
    filter.value = next
    selected.value = new Set()
    anchor.value = null
    return refresh()
  }

  /** Click: select one; ctrl/cmd: toggle; shift: the range from the last click. */
  function click(index: number, mode: 'one' | 'toggle' | 'range'): void {
    const card = cards.value.get(index)
    if (!card) return
    const next = new Set(mode === 'one' ? [] : selected.value)
    if (mode === 'range' && anchor.value !== null) {
      const [a, b] = [Math.min(anchor.value, index), Math.max(anchor.value, index)]
      for (let i = a; i <= b; i++) {
        const c = cards.value.get(i)
        if (c) next.add(c.id)
      }
    } else if (mode === 'toggle' && next.has(card.id)) next.delete(card.id)
    else next.add(card.id)
    if (mode !== 'range') anchor.value = index
    selected.value = next
  }

  async function selectAll(): Promise<void> {
    const { ids } = await useApi().library.ids({ filter: filter.value, sort: sort.value })
    selected.value = new Set(ids)
  }

  function clearSelection(): void {
    selected.value = new Set()
  }

  async function act(work: () => Promise<ActionResult>): Promise<void> {
    try {
      const res = await work()
      canUndo.value = res.canUndo
      canRedo.value = res.canRedo
      error.value = null
      await refresh()
    } catch (err) {
      error.value = errorMessage(err)
    }
  }

  const annotator = () => useAnnotatorStore().name
  const ids = () => [...selected.value]
  const labelSelected = (classId: number | null) => act(() => useApi().label.set({ imageIds: ids(), classId, annotator: annotator() }))
  const excludeSelected = (value: boolean) =>
    act(() => useApi().label.setField({ imageIds: ids(), field: 'exclude', value, annotator: annotator() }))
  const setFieldSelected = (field: 'environment' | 'subject' | 'attribute', value: string | null, name?: string) =>
    act(() => useApi().label.setField({ imageIds: ids(), field, value, annotator: annotator(), ...(name ? { name } : {}) }))
  const undo = () => act(() => useApi().label.undo({ annotator: annotator() }))
  const redo = () => act(() => useApi().label.redo({ annotator: annotator() }))

  return {
    filter, sort, total, cards, selected, selectedCount, facets, error, canUndo, canRedo,
    refresh, ensure, setFilter, click, selectAll, clearSelection, labelSelected, excludeSelected, setFieldSelected, undo, redo
  }
})
