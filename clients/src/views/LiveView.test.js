// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import LiveView from './LiveView.vue'
import { useAuthStore } from '../stores/auth.js'
import { appPlugins } from '../components/mount-support.js'
import { ADMIN, fakeServer } from '../test-support.js'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const session = (id, node) => ({
  id, name: `camera ${id}`, source: 'rtsp://camera/1', state: 'running', alerts_count: 0, current_score: 0.2,
  created_at: '2026-11-27T10:00:00Z', ...(node === undefined ? {} : { node }),
})

async function mountWith(items) {
  fakeServer({ 'GET /api/sessions': () => ({ body: { items, total: items.length, page: 1, page_size: 10 } }) })
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/live', component: LiveView }, { path: '/live/:id', component: { template: '<div/>' } }] })
  await router.push('/live')
  const plugins = [...appPlugins('en'), router]
  useAuthStore().user = ADMIN
  const wrapper = mount(LiveView, { global: { plugins }, attachTo: document.body })
  await vi.waitFor(() => expect(wrapper.text()).toContain('camera a'))
  return wrapper
}

describe('LiveView node column', () => {
  it('shows the Ray node of each camera when the cameras run on a cluster', async () => {
    const wrapper = await mountWith([session('a', '1a2b3c4d@10.0.0.2'), session('b', null)])
    expect(wrapper.text()).toContain('Node')
    expect(wrapper.findAll('[data-test=session-node]').map((cell) => cell.text())).toEqual(['1a2b3c4d@10.0.0.2', '—'])
    wrapper.unmount()
  })

  it('has no node column when the cameras run in the server', async () => {
    const wrapper = await mountWith([session('a')])
    expect(wrapper.find('[data-test=session-node]').exists()).toBe(false)
    expect(wrapper.text()).not.toContain('Node')
    wrapper.unmount()
  })
})
