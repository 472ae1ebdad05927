// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import ReviewView from './ReviewView.vue'
import VideoDetailView from './VideoDetailView.vue'
import { appPlugins } from '../components/mount-support.js'
import { fakeServer } from '../test-support.js'

HTMLCanvasElement.prototype.getContext = () => ({ font: '', measureText: (text) => ({ width: 6 * String(text).length }) })

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const ID = 'b'.repeat(32)
const EVENT = {
  id: `video-${ID}-0`, kind: 'upload', source_id: ID, source_name: 'gate.mp4', time: '2026-11-21T10:00:00Z', end_time: null,
  start: 1, end: 4, peak_score: 0.8, category: null, causes: [], image_url: `/api/videos/${ID}/cover`,
  clip_url: `/api/videos/${ID}/result#t=1.00,4.00`, reviewed: false, reviewed_at: null, reviewed_by: null, removed: null,
}

async function mountReview(query = {}) {
  const router = createRouter({ history: createMemoryHistory(), routes: [
    { path: '/review', name: 'review', component: ReviewView },
    { path: '/videos/:id', component: { template: '<div />' } },
    { path: '/live/:id', component: { template: '<div />' } },
  ] })
  await router.push({ path: '/review', query })
  const wrapper = mount({ template: '<router-view />' }, { global: { plugins: [...appPlugins('en'), router] }, attachTo: document.body })
  await flushPromises()
  return { wrapper, router }
}

describe('ReviewView', () => {
  it('asks for the filters of the URL, lists the events, marks one reviewed', async () => {
    const calls = fakeServer({
      'GET /api/events': () => ({ body: { items: [EVENT], total: 1, page: 1, page_size: 20 } }),
      'GET /api/sessions': () => ({ body: { items: [], total: 0 } }),
      'GET /api/videos': () => ({ body: { items: [{ id: ID, name: 'gate.mp4' }], total: 1 } }),
      'PATCH /api/events/video-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-0': (call) => ({ body: { ...EVENT, reviewed: call.body.reviewed, reviewed_by: 'admin', reviewed_at: '2026-11-21T11:00:00Z' } }),
    })
    const { wrapper } = await mountReview({ source: `video:${ID}`, min_score: '0.5' })
    const list = calls.find((call) => call.path === '/api/events')
    expect(list.query).toMatchObject({ video: ID, min_score: '0.5', reviewed: 'false', page: '1' })
    expect(wrapper.text()).toContain('gate.mp4')
    expect(wrapper.text()).toContain('1.0 s – 4.0 s')
    await wrapper.find('[data-test=event-mark]').trigger('click')
    await flushPromises()
    expect(calls.at(-1)).toMatchObject({ method: 'PATCH', body: { reviewed: true } })
    expect(wrapper.find('[data-test=event-reviewed]').exists()).toBe(true)
    expect(wrapper.text()).toContain('reviewed by admin')
  })

  it('plays the clip, and says what retention removed instead of a player', async () => {
    const removed = { ...EVENT, id: `video-${ID}-1`, removed: { at: '2026-11-22T00:00:00Z', reason: 'disk-budget', files: ['result', 'source'] }, clip_url: null }
    fakeServer({
      'GET /api/events': () => ({ body: { items: [EVENT, removed], total: 2, page: 1, page_size: 20 } }),
      'GET /api/sessions': () => ({ body: { items: [] } }),
      'GET /api/videos': () => ({ body: { items: [] } }),
    })
    const { wrapper } = await mountReview()
    const plays = wrapper.findAll('[data-test=event-play]')
    await plays[0].trigger('click')
    await flushPromises()
    expect(document.querySelector('[data-test=clip-player]').getAttribute('src')).toBe(EVENT.clip_url)
    expect(wrapper.text()).toContain('over the disk budget')
    wrapper.unmount()
  })

  it('shows the server error of a bad filter', async () => {
    fakeServer({
      'GET /api/events': () => ({ status: 400, body: { error: 'invalid-parameter', message: "query parameter 'from' must be ...", params: { parameter: 'from' } } }),
      'GET /api/sessions': () => ({ body: { items: [] } }),
      'GET /api/videos': () => ({ body: { items: [] } }),
    })
    const { wrapper } = await mountReview({ from: 'x' })
    expect(wrapper.text()).toContain("query parameter 'from' must be")
  })
})

describe('VideoDetailView', () => {
  it('shows the original size and rate, and a removed result instead of the player', async () => {
    URL.createObjectURL = () => 'blob:scores'
    URL.revokeObjectURL = () => {}
    fakeServer({
      [`GET /api/videos/${ID}`]: () => ({ body: {
        id: ID, name: 'gate.mp4', status: 'done', progress: 1, fps: 25, frames: 50, duration: 2, width: 768, height: 576,
        original: { width: 1536, height: 1152, fps: 50 }, peak_score: 0.9, threshold: 0.5, intervals: [], scores: [0.1, 0.9],
        removed: { at: '2026-11-22T00:00:00Z', reason: 'age', files: ['result', 'source'] },
      } }),
    })
    const wrapper = mount(VideoDetailView, { props: { id: ID }, global: { plugins: appPlugins('en'), stubs: { RouterLink: true } } })
    await flushPromises()
    expect(wrapper.find('[data-test=stored-size]').text()).toBe('768×576')
    expect(wrapper.find('[data-test=original-size]').text()).toBe('1536×1152 · 50 fps')
    expect(wrapper.find('[data-test=player]').exists()).toBe(false)
    expect(wrapper.find('[data-test=result-removed]').text()).toContain('older than the retention period')
    expect(wrapper.find('[data-test=download-video]').exists()).toBe(false)
  })
})
