// @vitest-environment jsdom
// Cameras that remember: the session page's stored history and offline state, the settings dialog, the grid.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import SessionView from './SessionView.vue'
import CamerasView from './CamerasView.vue'
import { useAuthStore } from '../stores/auth.js'
import { appPlugins } from '../components/mount-support.js'
import { ADMIN, FakeEventSource, fakeServer } from '../test-support.js'

HTMLCanvasElement.prototype.getContext = () => ({ font: '', measureText: (text) => ({ width: 6 * String(text).length }) })

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const SETTINGS = { threshold: 0.5, roi: { x1: 0, y1: 0, x2: 1, y2: 1 }, min_alert_seconds: 0, cooldown_seconds: 0, profile: null, enabled: true }
const CAMERA = {
  id: 's1', name: 'gate', source: 'rtsp://cam/1', state: 'running', created_at: '2026-11-21T10:00:00Z', started_at: '2026-11-21T10:00:01Z',
  stopped_at: null, alerts_count: 1, current_score: 0.3, threshold: 0.5, error: null, last_seen: '2026-11-21T10:10:00Z',
  dropped_segments: 4, settings: SETTINGS,
}
const HISTORY = { points: [[1763719200, 0.2], [1763719205, 0.7], [1763719210, null], [1763719300, 0.1]], total: 4 }
const ALERT = {
  id: 'a1', session_id: 's1', start_time: '2026-11-21T10:05:00Z', end_time: '2026-11-21T10:05:09Z', peak_score: 0.9, interrupted: true,
  snapshot_url: '/api/sessions/s1/alerts/a1/snapshot', clip_url: '/api/sessions/s1/alerts/a1/clip',
}

function mountSession(routes = {}, camera = CAMERA) {
  vi.stubGlobal('EventSource', FakeEventSource)
  FakeEventSource.last = null
  vi.stubGlobal('requestAnimationFrame', (callback) => setTimeout(callback, 0))
  const calls = fakeServer({
    'GET /api/sessions/s1': () => ({ body: camera }),
    'GET /api/sessions/s1/alerts': () => ({ body: { items: [ALERT], total: 1, page: 1, page_size: 20 } }),
    'GET /api/sessions/s1/scores': () => ({ body: HISTORY }),
    'GET /api/profiles': () => ({ body: { items: [{ id: 'ped2', name: 'ped2', kind: 'shipped' }, { id: 's1', name: 'gate', kind: 'camera' }] } }),
    ...routes,
  })
  const plugins = appPlugins('en')
  useAuthStore().user = ADMIN
  const wrapper = mount(SessionView, {
    props: { id: 's1' }, global: { plugins, stubs: { 'router-link': { template: '<a><slot /></a>' } } }, attachTo: document.body,
  })
  return { wrapper, calls }
}

describe('a camera page', () => {
  it('shows the stored history on the time of its scores, then the offline state and the recovery', async () => {
    const { wrapper } = mountSession()
    await vi.waitFor(() => expect(wrapper.find('[data-test=chart]').attributes('data-points')).toBe('3')) // the gap is no point
    expect(wrapper.find('[data-test=dropped]').attributes('data-count')).toBe('4')
    expect(wrapper.find('[data-test=alert-interrupted]').exists()).toBe(true)
    await vi.waitFor(() => expect(FakeEventSource.last).not.toBeNull())
    const events = FakeEventSource.last
    events.emit('state', { state: 'reconnecting', message: 'stream lost', last_seen: '2026-11-21T10:12:00Z', dropped_segments: 5 })
    await vi.waitFor(() => expect(wrapper.find('[data-test=offline-banner]').exists()).toBe(true))
    expect(wrapper.find('[data-test=current-score]').text()).toBe('unknown')
    expect(wrapper.find('[data-test=offline-banner]').text()).toContain('Camera offline')
    expect(wrapper.find('[data-test=stream]').classes()).toContain('offline')
    events.emit('state', { state: 'running', message: 'reconnected' })
    events.emit('score', { time: Date.now() / 1000, score: 0.42, dropped_segments: 5 })
    await vi.waitFor(() => expect(wrapper.find('[data-test=current-score]').text()).toBe('0.420'))
    expect(wrapper.find('[data-test=offline-banner]').exists()).toBe(false)
    expect(wrapper.find('[data-test=dropped]').attributes('data-count')).toBe('5')
    wrapper.unmount()
  })

  it('plays an alert clip', async () => {
    const { wrapper } = mountSession()
    await vi.waitFor(() => expect(wrapper.find('[data-test=play-clip]').exists()).toBe(true))
    await wrapper.find('[data-test=play-clip]').trigger('click')
    await vi.waitFor(() => expect(document.querySelector('[data-test=clip-video]')).not.toBeNull())
    expect(document.querySelector('[data-test=clip-video]').getAttribute('src')).toBe(ALERT.clip_url)
    wrapper.unmount()
  })

  it('sends only the changed settings and shows a refused value', async () => {
    let answer = { status: 400, body: { error: 'invalid-field', message: "field 'roi' must be {x1, y1, x2, y2}" } }
    const { wrapper, calls } = mountSession({ 'PATCH /api/sessions/s1': () => answer })
    await vi.waitFor(() => expect(wrapper.find('[data-test=camera-settings]').exists()).toBe(true))
    await wrapper.find('[data-test=camera-settings]').trigger('click')
    const cooldown = document.querySelector('[data-test=camera-cooldown] input')
    await vi.waitFor(() => expect(cooldown).not.toBeNull())
    cooldown.value = '30'
    cooldown.dispatchEvent(new Event('input'))
    cooldown.dispatchEvent(new Event('change'))
    document.querySelector('[data-test=camera-settings-submit]').click()
    await vi.waitFor(() => expect(document.querySelector('[data-test=camera-settings-error]')).not.toBeNull())
    expect(document.querySelector('[data-test=camera-settings-error]').textContent).toContain("field 'roi'")
    expect(calls.find((c) => c.method === 'PATCH').body).toEqual({ cooldown_seconds: 30 })
    answer = { body: { ...CAMERA, settings: { ...SETTINGS, cooldown_seconds: 30 } } }
    document.querySelector('[data-test=camera-settings-submit]').click()
    await vi.waitFor(() => expect(calls.filter((c) => c.method === 'PATCH')).toHaveLength(2))
    wrapper.unmount()
  })
})

describe('the camera grid', () => {
  it('shows every camera with its frame, state and score; offline and abnormal ones are marked', async () => {
    fakeServer({
      'GET /api/sessions': () => ({
        body: {
          items: [
            { ...CAMERA, id: 'a', name: 'door', current_score: 0.9 },
            { ...CAMERA, id: 'b', name: 'yard', state: 'reconnecting', current_score: null },
            { ...CAMERA, id: 'c', name: 'hall', state: 'stopped', current_score: null, settings: { ...SETTINGS, enabled: false } },
          ],
          total: 3,
          page: 1,
          page_size: 100,
        },
      }),
    })
    const wrapper = mount(CamerasView, {
      global: { plugins: appPlugins('en'), stubs: { 'router-link': { props: ['to'], template: '<a :href="to"><slot /></a>' } } },
    })
    await vi.waitFor(() => expect(wrapper.findAll('[data-test=camera-tile]')).toHaveLength(3))
    const [door, yard, hall] = wrapper.findAll('[data-test=camera-tile]')
    expect(door.attributes('data-abnormal')).toBe('true')
    expect(door.find('[data-test=tile-frame]').attributes('src')).toMatch(/^\/api\/sessions\/a\/frame\?t=\d+$/)
    expect(yard.find('[data-test=tile-offline]').exists()).toBe(true)
    expect(yard.find('[data-test=tile-score]').text()).toBe('unknown')
    expect(hall.find('[data-test=tile-frame]').exists()).toBe(false)
    expect(hall.text()).toContain('Disabled')
    wrapper.unmount()
  })
})
