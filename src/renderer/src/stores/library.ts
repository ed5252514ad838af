import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { ActionResult } from '../../../shared/domain'
import type { Facets, ImageCard, LibraryFilter, LibrarySort } from '../../../shared/library'
import { errorMessage, useApi } from '../services/api'
import { useAnnotatorStore } from './annotator'
import { useProjectStore } from './project'

const CHUNK = 200
/** Chunks kept around the view; far-away ones are dropped so 100,000 images never sit in memory. */
const KEEP_CHUNKS = 12

/**
 * The grid's data: the filter, a sparse cache of cards fetched in chunks as rows scroll into
 * view, and the selection. Any label change drops the cache so the grid re-reads what it shows.
 */
export const useLibraryStore = defineStore('library', () => {
  const filter = ref<LibraryFilter>({})
  const sort = ref<LibrarySort>('added')
  const total = ref(0)
  // A plain map plus a version: updating one chunk must not copy or re-wrap every card seen so far.
  const cards = new Map<number, ImageCard>()
  const version = ref(0)
  const selected = ref(new Set<number>())
  const anchor = ref<number | null>(null)
  const facets = ref<Facets | null>(null)
  const error = ref<string | null>(null)
  const canUndo = ref(false)
  const canRedo = ref(false)
  const loading = new Set<number>()
  /** Every id in the filter, in order: the grid pages through it, select-all is a copy of it. */
  let allIds: number[] = []
  let generation = 0

  const selectedCount = computed(() => selected.value.size)

  async function refresh(): Promise<void> {
    generation++
    void useProjectStore().refresh().catch(() => undefined)
    loading.clear()
    cards.clear()
    version.value++
    const api = useApi()
    try {
      const [list, f, state] = await Promise.all([
        api.library.ids({ filter: filter.value, sort: sort.value }),
        api.library.facets({}),
        api.label.undoState({ annotator: useAnnotatorStore().name })
      ])
      allIds = list.ids
      const first = await api.library.cards({ ids: allIds.slice(0, CHUNK) })
      total.value = allIds.length
      facets.value = f
      canUndo.value = state.canUndo
      canRedo.value = state.canRedo
      store(0, first)
      loading.add(0)
      error.value = null
    } catch (err) {
      error.value = errorMessage(err)
    }
  }

  function store(offset: number, items: ImageCard[]): void {
    items.forEach((card, i) => cards.set(offset + i, card))
    version.value++
  }

  /** The card at a grid index, or undefined while its chunk loads; reactive through `version`. */
  function card(index: number): ImageCard | undefined {
    void version.value
    return cards.get(index)
  }

  function evict(centre: number): void {
    for (const c of [...loading]) {
      if (Math.abs(c - centre) <= KEEP_CHUNKS) continue
      loading.delete(c)
      for (let i = c * CHUNK; i < (c + 1) * CHUNK; i++) cards.delete(i)
    }
  }

  /** Makes sure the cards from index `from` to `to` are loaded (or loading). */
  async function ensure(from: number, to: number): Promise<void> {
    const gen = generation
    const first = Math.floor(Math.max(0, from) / CHUNK)
    const last = Math.floor(Math.max(0, Math.min(to, total.value - 1)) / CHUNK)
    evict(first)
    for (let c = first; c <= last; c++) {
      if (loading.has(c)) continue
      loading.add(c)
      // By id, not OFFSET: a chunk deep in 100,000 images costs the same as the first.
      const items = await useApi().library.cards({ ids: allIds.slice(c * CHUNK, (c + 1) * CHUNK) })
      if (gen !== generation) return
      store(c * CHUNK, items)
    }
  }

  /** What a chosen set of ids is (e.g. "run 3: labeled happy, predicted sad"), shown above the grid. */
  const idsLabel = ref<string | null>(null)

  /** `label` names the set when the filter is a chosen set of ids; any other filter forgets it. */
  function setFilter(next: LibraryFilter, label?: string): Promise<void> {
    idsLabel.value = next.ids ? (label ?? (next.ids === filter.value.ids ? idsLabel.value : null)) : null
    filter.value = next
    selected.value = new Set()
    anchor.value = null
    return refresh()
  }

  /** Click: select one; ctrl/cmd: toggle; shift: the range from the last click. */
  function click(index: number, mode: 'one' | 'toggle' | 'range'): void {
    const clicked = cards.get(index)
    if (!clicked) return
    const next = new Set(mode === 'one' ? [] : selected.value)
    if (mode === 'range' && anchor.value !== null) {
      const [a, b] = [Math.min(anchor.value, index), Math.max(anchor.value, index)]
      for (let i = a; i <= b; i++) {
        const c = cards.get(i)
        if (c) next.add(c.id)
      }
    } else if (mode === 'toggle' && next.has(clicked.id)) next.delete(clicked.id)
    else next.add(clicked.id)
    if (mode !== 'range') anchor.value = index
    selected.value = next
  }

  function selectAll(): void {
    selected.value = new Set(allIds)
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
    filter, idsLabel, sort, total, card, selected, selectedCount, facets, error, canUndo, canRedo,
    refresh, ensure, setFilter, click, selectAll, clearSelection, labelSelected, excludeSelected, setFieldSelected, undo, redo
  }
})
