import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'
import { setApi } from '../../src/renderer/src/services/api'
import { useProjectStore } from '../../src/renderer/src/stores/project'
import HomeView from '../../src/renderer/src/views/HomeView.vue'
import { StudioError } from '../../src/shared/errors'
import { fakeApi, summary } from './fake-api'

function router() {
  return createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/', component: HomeView },
      { path: '/overview', component: { template: '<div>overview</div>' } }
    ]
  })
}

async function mountHome(impl: Parameters<typeof fakeApi>[0]) {
  const fake = fakeApi({
    'app.info': () => ({ version: '0.1.0', transport: 'http', nativeDialogs: false, home: '/home/me' }),
    'project.recent': () => [],
    'project.summary': () => {
      throw new StudioError('no_project', 'none')
    },
    ...impl
  })
  setApi(fake.api)
  const pinia = createPinia()
  setActivePinia(pinia)
  const r = router()
  await r.push('/')
  await useProjectStore().init()
  const wrapper = mount(HomeView, { global: { plugins: [pinia, r] } })
  await flushPromises()
  return { wrapper, fake, router: r }
}

describe('HomeView', () => {
  beforeEach(() => setApi(null))

  it('creates a project with the chosen preset and goes to the overview', async () => {
    const { wrapper, fake, router: r } = await mountHome({
      'project.create': (req: { dir: string; classes: string[] }) => summary({ dir: req.dir, classCount: req.classes.length })
    })
    expect(wrapper.find('[data-test=create-submit]').attributes('disabled')).toBeDefined()
    await wrapper.find('[data-test=create-dir]').setValue('/data/new')
    await wrapper.find('[data-test=create-form]').trigger('submit')
    await flushPromises()
    const call = fake.calls.find((c) => c.channel === 'project.create')
    expect(call?.payload).toEqual({ dir: '/data/new', classes: ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] })
    expect(r.currentRoute.value.path).toBe('/overview')
  })

  it('sends custom class names split on commas and lines', async () => {
    const { wrapper, fake } = await mountHome({ 'project.create': () => summary() })
    await wrapper.find('[data-test=create-dir]').setValue('/data/x')
    await wrapper.find('[data-test=create-preset]').setValue('custom')
    await wrapper.find('[data-test=create-classes]').setValue('cat, dog\n  bird ,')
    await wrapper.find('[data-test=create-form]').trigger('submit')
    await flushPromises()
    expect(fake.calls.find((c) => c.channel === 'project.create')?.payload).toMatchObject({ classes: ['cat', 'dog', 'bird'] })
  })

  it('shows the core\'s error and stays on the page', async () => {
    const { wrapper, router: r } = await mountHome({
      'project.open': () => {
        throw new StudioError('not_a_project', '/data/photos is not a Freezeframe project')
      }
    })
    await wrapper.find('[data-test=open-dir]').setValue('/data/photos')
    await wrapper.find('[data-test=open-form]').trigger('submit')
    await flushPromises()
    expect(wrapper.find('[data-test=home-error]').text()).toContain('is not a Freezeframe project')
    expect(r.currentRoute.value.path).toBe('/')
  })

  it('lists recent projects, or says there are none; no Browse button without native dialogs', async () => {
    const empty = await mountHome({})
    expect(empty.wrapper.find('[data-test=recent-empty]').exists()).toBe(true)
    expect(empty.wrapper.text()).not.toContain('Browse')
    const listed = await mountHome({ 'project.recent': () => [{ dir: '/d/a', name: 'alpha', openedAt: '2026-01-01T00:00:00Z' }] })
    expect(listed.wrapper.find('[data-test=recent-list]').text()).toContain('alpha')
  })
})
