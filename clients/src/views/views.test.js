// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { ElMessageBox } from 'element-plus'
import { createMemoryHistory, createRouter } from 'vue-router'
import LoginView from './LoginView.vue'
import VideosView from './VideosView.vue'
import VideoDetailView from './VideoDetailView.vue'
import SessionView from './SessionView.vue'
import StatusTag from '../components/StatusTag.vue'
import { useAuthStore } from '../stores/auth.js'
import { appPlugins } from '../components/mount-support.js'
import { ADMIN, FakeEventSource, VIEWER, fakeServer } from '../test-support.js'

// jsdom has no canvas; ECharts only needs it to measure text (the chart itself renders as SVG).
HTMLCanvasElement.prototype.getContext = () => ({ font: '', measureText: (text) => ({ width: 6 * String(text).length }) })

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

function router() {
  return createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/login', name: 'login', component: LoginView },
      { path: '/videos', name: 'videos', component: { template: '<div>videos</div>' } },
      { path: '/videos/:id', name: 'video', component: { template: '<div>video</div>' } },
    ],
  })
}

const VIDEOS = {
  items: [
    { id: 'a', name: 'Test001.mp4', status: 'done', progress: 1, duration: 18, peak_score: 0.91, threshold: 0.5, created_at: '2026-11-21T10:00:00Z' },
    { id: 'b', name: 'broken.mp4', status: 'failed', progress: 0.2, duration: null, peak_score: null, threshold: 0.5, error: 'not a video', created_at: '2026-11-21T10:01:00Z' },
  ],
  total: 2,
  page: 1,
  page_size: 10,
}

describe('StatusTag', () => {
  it('shows the translated status with its colour', () => {
    const wrapper = mount(StatusTag, { props: { value: 'processing' }, global: { plugins: appPlugins('zh-CN') } })
    expect(wrapper.text()).toBe('处理中')
    expect(wrapper.classes()).toContain('el-tag--warning')
    const state = mount(StatusTag, { props: { value: 'reconnecting', kind: 'state' }, global: { plugins: appPlugins('en') } })
    expect(state.text()).toBe('Reconnecting')
  })
})

describe('LoginView', () => {
  it("shows the server's message on a failed login and navigates on success", async () => {
    fakeServer({
      'POST /api/auth/login': (call) => (call.body.password === 'secret'
        ? { body: { user: ADMIN, csrf_token: 'x' } }
        : { status: 401, body: { error: 'unauthorized', message: 'wrong username or password' } }),
    })
    const r = router()
    await r.push('/login?redirect=/videos/a')
    const wrapper = mount(LoginView, { global: { plugins: [...appPlugins('en'), r] }, attachTo: document.body })
    await wrapper.find('input[name=username]').setValue('admin')
    await wrapper.find('input[name=password]').setValue('nope')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    await vi.waitFor(() => expect(wrapper.find('[data-test=login-error]').exists()).toBe(true))
    expect(wrapper.find('[data-test=login-error]').text()).toContain('wrong username or password')
    await wrapper.find('input[name=password]').setValue('secret')
    await wrapper.find('form').trigger('submit')
    await vi.waitFor(() => expect(r.currentRoute.value.fullPath).toBe('/videos/a'))
    wrapper.unmount()
  })

  it('switches the language from the login page', async () => {
    fakeServer({})
    const r = router()
    await r.push('/login')
    const plugins = [...appPlugins('zh-CN'), r]
    const wrapper = mount(LoginView, { global: { plugins }, attachTo: document.body })
    const english = wrapper.findAll('[data-test=login-language] label').find((label) => label.text() === 'English')
    await english.find('input').setValue(true)
    await vi.waitFor(() => expect(wrapper.find('[data-test=login-submit]').text()).toBe('Log in'))
    expect(document.documentElement.lang).toBe('en')
    wrapper.unmount()
  })

  it('asks for both fields before calling the server', async () => {
    const calls = fakeServer({})
    const r = router()
    await r.push('/login')
    const wrapper = mount(LoginView, { global: { plugins: [...appPlugins('en'), r] }, attachTo: document.body })
    await wrapper.find('form').trigger('submit')
    await vi.waitFor(() => expect(wrapper.text()).toContain('Enter the username'))
    expect(calls).toHaveLength(0)
    wrapper.unmount()
  })
})

describe('VideosView', () => {
  async function mountAs(user) {
    const calls = fakeServer({ 'GET /api/videos': () => ({ body: VIDEOS }), 'GET /api/profiles': () => ({ body: { items: [] } }) })
    const r = router()
    await r.push('/videos')
    const plugins = [...appPlugins('en'), r]
    useAuthStore().user = user
    const wrapper = mount(VideosView, { global: { plugins }, attachTo: document.body })
    await vi.waitFor(() => expect(wrapper.text()).toContain('Test001.mp4'))
    return { wrapper, calls }
  }

  it('lists the records with status, duration, peak score and the failure reason', async () => {
    const { wrapper, calls } = await mountAs(ADMIN)
    expect(calls.find((c) => c.path === '/api/videos').query).toMatchObject({ page: '1', page_size: '10' })
    const text = wrapper.text()
    expect(text).toContain('0:18')
    expect(text).toContain('0.910')
    expect(text).toContain('Done')
    expect(text).toContain('Failed')
    expect(text).toContain('not a video')
    expect(wrapper.findAll('[data-test=delete-video]')).toHaveLength(2)
    expect(wrapper.find('.upload-box').exists()).toBe(true)
    wrapper.unmount()
  })

  it('offers no upload and no delete to a viewer', async () => {
    const { wrapper } = await mountAs(VIEWER)
    expect(wrapper.findAll('[data-test=delete-video]')).toHaveLength(0)
    expect(wrapper.find('.upload-box').exists()).toBe(false)
    wrapper.unmount()
  })

  it("shows the server's message with a retry when the list cannot load", async () => {
    let fail = true
    fakeServer({
      'GET /api/videos': () => (fail ? { status: 503, body: { error: 'database', message: 'database unavailable' } } : { body: VIDEOS }),
    })
    const r = router()
    await r.push('/videos')
    const wrapper = mount(VideosView, { global: { plugins: [...appPlugins('en'), r] }, attachTo: document.body })
    await vi.waitFor(() => expect(wrapper.find('[data-test=error-state]').exists()).toBe(true))
    expect(wrapper.text()).toContain('database unavailable')
    fail = false
    await wrapper.find('[data-test=error-state] button').trigger('click')
    await vi.waitFor(() => expect(wrapper.text()).toContain('Test001.mp4'))
    wrapper.unmount()
  })
})

const DONE = {
  id: 'v1', name: 'Test001.mp4', status: 'done', progress: 1, fps: 10, frames: 40, duration: 4, width: 360, height: 240,
  threshold: 0.5, peak_score: 0.9, error: null,
  scores: Array.from({ length: 40 }, (_, f) => (f >= 16 && f < 32 ? 0.9 : 0.1)),
  intervals: [{ start_frame: 16, end_frame: 31, start_time: 1.6, end_time: 3.2, peak_score: 0.9, category: 'cycling', category_probability: 0.8 }],
}

function mountDetail(record, locale = 'en') {
  const calls = fakeServer({ 'GET /api/videos/v1': () => record })
  URL.createObjectURL = () => 'blob:scores'
  URL.revokeObjectURL = () => {}
  const wrapper = mount(VideoDetailView, {
    props: { id: 'v1' },
    global: { plugins: appPlugins(locale), stubs: { 'router-link': { template: '<a><slot /></a>' } } },
    attachTo: document.body,
  })
  return { wrapper, calls }
}

const CAUSED = {
  ...DONE,
  profile: 'ped2',
  intervals: [
    {
      start_frame: 16, end_frame: 23, start_time: 1.6, end_time: 2.4, peak_score: 0.9,
      causes: [{ cue: 'objects', label: 'bicycle 0.91', z: 6.2 }, { cue: 'motion', label: 'fast motion', z: 3.4 }],
    },
    { start_frame: 30, end_frame: 35, start_time: 3, end_time: 3.6, peak_score: 0.7, causes: [{ cue: 'scene', label: 'unusual scene', z: 2.5 }] },
    { start_frame: 36, end_frame: 39, start_time: 3.6, end_time: 4, peak_score: 0.6 },
  ],
}

describe('VideoDetailView', () => {
  it('shows the player, the chart, the intervals with category, and seeks on a row click', async () => {
    const { wrapper } = mountDetail({ body: DONE })
    await vi.waitFor(() => expect(wrapper.find('[data-test=player]').exists()).toBe(true))
    expect(wrapper.find('[data-test=player]').attributes('src')).toBe('/api/videos/v1/result')
    expect(wrapper.find('[data-test=chart]').exists()).toBe(true)
    const rows = wrapper.findAll('[data-test=intervals] .el-table__body tr')
    expect(rows).toHaveLength(1)
    expect(rows[0].text()).toContain('1.6 s')
    expect(rows[0].text()).toContain('cycling')
    expect(rows[0].text()).toContain('80%')
    expect(wrapper.find('[data-test=download-csv]').attributes('href')).toBe('/api/videos/v1/scores.csv')
    expect(wrapper.find('[data-test=download-json]').attributes('download')).toBe('Test001-scores.json')
    await rows[0].trigger('click')
    expect(wrapper.find('[data-test=player]').element.currentTime).toBeCloseTo(1.6)
    wrapper.unmount()
  })

  it('shows the causes of each interval as tags in a Cause column, and the scene profile', async () => {
    const { wrapper } = mountDetail({ body: CAUSED })
    await vi.waitFor(() => expect(wrapper.findAll('[data-test=intervals] .el-table__body tr')).toHaveLength(3))
    expect(wrapper.find('[data-test=intervals] .el-table__header').text()).toContain('Cause')
    const rows = wrapper.findAll('[data-test=intervals] .el-table__body tr')
    expect(rows[0].findAll('[data-test=cause]').map((tag) => tag.text())).toEqual(['bicycle 0.91', 'fast motion'])
    expect(rows[1].findAll('[data-test=cause]').map((tag) => tag.text())).toEqual(['unusual scene'])
    expect(rows[2].findAll('[data-test=cause]')).toHaveLength(0)
    expect(rows[2].text()).toContain('—')
    expect(wrapper.find('[data-test=video-profile]').text()).toBe('ped2')
    wrapper.unmount()
  })

  it('translates the cues but keeps the object labels, and has no Cause column without causes', async () => {
    const zh = mountDetail({ body: { ...CAUSED, profile: null } }, 'zh-CN')
    await vi.waitFor(() => expect(zh.wrapper.findAll('[data-test=cause]')).toHaveLength(3))
    expect(zh.wrapper.findAll('[data-test=cause]').map((tag) => tag.text())).toEqual(['bicycle 0.91', '快速运动', '异常场景'])
    expect(zh.wrapper.find('[data-test=intervals] .el-table__header').text()).toContain('原因')
    expect(zh.wrapper.find('[data-test=video-profile]').text()).toBe('无（从视频本身学习）')
    zh.wrapper.unmount()
    const plain = mountDetail({ body: DONE })
    await vi.waitFor(() => expect(plain.wrapper.findAll('[data-test=intervals] .el-table__body tr')).toHaveLength(1))
    expect(plain.wrapper.find('[data-test=intervals] .el-table__header').text()).not.toContain('Cause')
    expect(plain.wrapper.find('[data-test=video-profile]').text()).toBe('None (learned from the video itself)')
    plain.wrapper.unmount()
  })

  it('shows progress while the job runs and the reason when it failed', async () => {
    const running = mountDetail({ body: { ...DONE, status: 'processing', progress: 0.42, scores: undefined } })
    await vi.waitFor(() => expect(running.wrapper.find('[data-test=pending]').exists()).toBe(true))
    expect(running.wrapper.text()).toContain('42%')
    running.wrapper.unmount()
    const failed = mountDetail({ body: { ...DONE, status: 'failed', error: 'the file is not a decodable video' } })
    await vi.waitFor(() => expect(failed.wrapper.text()).toContain('Detection failed: the file is not a decodable video'))
    failed.wrapper.unmount()
  })

  it("shows the server's message for an unknown video", async () => {
    const { wrapper } = mountDetail({ status: 404, body: { error: 'not_found', message: "video 'v1' not found" } })
    await vi.waitFor(() => expect(wrapper.find('[data-test=error-state]').exists()).toBe(true))
    expect(wrapper.text()).toContain("video 'v1' not found")
    wrapper.unmount()
  })
})

describe('SessionView', () => {
  const SESSION = {
    id: 's1', name: 'gate', source: 'rtsp://cam/1', state: 'running', created_at: '2026-11-21T10:00:00Z',
    started_at: '2026-11-21T10:00:01Z', stopped_at: null, alerts_count: 0, current_score: null, error: null,
  }

  it('feeds the chart from score events, logs alerts as they start and end, and closes on stop', async () => {
    vi.stubGlobal('EventSource', FakeEventSource)
    vi.stubGlobal('requestAnimationFrame', (callback) => setTimeout(callback, 0))
    fakeServer({
      'GET /api/sessions/s1': () => ({ body: SESSION }),
      'GET /api/sessions/s1/alerts': () => ({ body: { items: [], total: 0, page: 1, page_size: 20 } }),
      'GET /api/sessions/s1/scores': () => ({ body: { points: [], total: 0 } }),
    })
    const plugins = appPlugins('en')
    useAuthStore().user = ADMIN
    const wrapper = mount(SessionView, {
      props: { id: 's1' },
      global: { plugins, stubs: { 'router-link': { template: '<a><slot /></a>' } } },
      attachTo: document.body,
    })
    await vi.waitFor(() => expect(FakeEventSource.last).not.toBeNull())
    const events = FakeEventSource.last
    expect(events.url).toBe('/api/sessions/s1/events')
    expect(wrapper.find('[data-test=stream]').attributes('src')).toMatch(/^\/api\/sessions\/s1\/stream/)
    expect(wrapper.text()).toContain('No alerts yet')

    const now = Date.now() / 1000
    events.emit('score', { time: now, score: 0.2 })
    events.emit('score', { time: now + 0.5, score: 0.81 })
    await vi.waitFor(() => expect(wrapper.find('[data-test=chart]').attributes('data-points')).toBe('2'))
    expect(wrapper.find('[data-test=current-score]').text()).toBe('0.810')

    const alert = { id: 'a1', session_id: 's1', start_time: '2026-11-21T10:05:00Z', end_time: null, peak_score: 0.81, snapshot_url: '/api/sessions/s1/alerts/a1/snapshot' }
    events.emit('alert-start', alert)
    await vi.waitFor(() => expect(wrapper.findAll('[data-test=alert]')).toHaveLength(1))
    expect(wrapper.find('[data-test=alert]').text()).toContain('ongoing')
    events.emit('alert-end', { ...alert, end_time: '2026-11-21T10:05:04Z', peak_score: 0.9 })
    await vi.waitFor(() => expect(wrapper.find('[data-test=alert]').text()).toContain('0.900'))
    expect(wrapper.findAll('[data-test=alert]')).toHaveLength(1)
    expect(wrapper.find('[data-test=alert]').text()).not.toContain('ongoing')

    events.emit('state', { state: 'stopped', message: 'stream ended' })
    await vi.waitFor(() => expect(events.closed).toBe(true))
    expect(wrapper.find('[data-test=stream]').exists()).toBe(false)
    expect(wrapper.text()).toContain('stream ended')
    expect(wrapper.find('[data-test=stop-session]').exists()).toBe(false)
    wrapper.unmount()
  })

  function mountSession(user, routes, session = SESSION) {
    vi.stubGlobal('EventSource', FakeEventSource)
    vi.stubGlobal('requestAnimationFrame', (callback) => setTimeout(callback, 0))
    FakeEventSource.last = null
    const calls = fakeServer({
      'GET /api/sessions/s1': () => ({ body: session }),
      'GET /api/sessions/s1/alerts': () => ({ body: { items: [], total: 0, page: 1, page_size: 20 } }),
      'GET /api/sessions/s1/scores': () => ({ body: { points: [], total: 0 } }),
      ...routes,
    })
    const plugins = appPlugins('en')
    useAuthStore().user = user
    const wrapper = mount(SessionView, {
      props: { id: 's1' },
      global: { plugins, stubs: { 'router-link': { template: '<a><slot /></a>' } } },
      attachTo: document.body,
    })
    return { wrapper, calls }
  }

  it('shows the causes of an alert next to its score', async () => {
    const { wrapper } = mountSession(VIEWER, {
      'GET /api/sessions/s1/alerts': () => ({
        body: {
          items: [{
            id: 'a0', session_id: 's1', start_time: '2026-11-21T10:01:00Z', end_time: '2026-11-21T10:01:05Z', peak_score: 0.7,
            snapshot_url: '/api/sessions/s1/alerts/a0/snapshot', causes: [{ cue: 'activity', label: 'unusual activity', z: 4.1 }],
          }],
          total: 1,
          page: 1,
          page_size: 20,
        },
      }),
    })
    await vi.waitFor(() => expect(wrapper.findAll('[data-test=alert]')).toHaveLength(1))
    expect(wrapper.find('[data-test=alert] [data-test=cause]').text()).toBe('unusual activity')
    await vi.waitFor(() => expect(FakeEventSource.last).not.toBeNull())
    FakeEventSource.last.emit('alert-start', {
      id: 'a1', session_id: 's1', start_time: '2026-11-21T10:05:00Z', end_time: null, peak_score: 0.81, snapshot_url: '',
      causes: [{ cue: 'objects', label: 'car 0.88', z: 5 }, { cue: 'motion', label: 'fast motion', z: 3 }],
    })
    await vi.waitFor(() => expect(wrapper.findAll('[data-test=alert]')).toHaveLength(2))
    const newest = wrapper.findAll('[data-test=alert]')[0]
    expect(newest.text()).toContain('0.810')
    expect(newest.findAll('[data-test=cause]').map((tag) => tag.text())).toEqual(['car 0.88', 'fast motion'])
    // a viewer sees the calibration but cannot change it
    expect(wrapper.find('[data-test=session-profile]').text()).toBe('Uncalibrated')
    expect(wrapper.find('[data-test=calibrate-session]').exists()).toBe(false)
    wrapper.unmount()
  })

  it('shows the calibration, updates it from the profile event, calibrates and forgets it', async () => {
    const learning = { state: 'learning', segments: 75, minutes: 2.5 }
    const { wrapper, calls } = mountSession(ADMIN, {
      'POST /api/sessions/s1/calibrate': (call) => ({ body: { ...SESSION, state: 'starting', profile: { state: 'learning', minutes: call.body.minutes } } }),
      'DELETE /api/sessions/s1/profile': () => ({ body: { ...SESSION, state: 'starting', profile: { state: 'uncalibrated' } } }),
    }, { ...SESSION, profile: { state: 'uncalibrated' } })
    await vi.waitFor(() => expect(wrapper.find('[data-test=session-profile]').exists()).toBe(true))
    expect(wrapper.find('[data-test=session-profile]').text()).toBe('Uncalibrated')
    expect(wrapper.find('[data-test=forget-profile]').exists()).toBe(false)

    await wrapper.find('[data-test=calibrate-session]').trigger('click')
    const minutes = wrapper.find('[data-test=calibrate-minutes] input')
    await vi.waitFor(() => expect(minutes.element.value).toBe('5'))
    await minutes.setValue('2.5')
    await minutes.trigger('change')
    const firstStream = FakeEventSource.last
    await wrapper.find('[data-test=calibrate-submit]').trigger('click')
    await vi.waitFor(() => expect(calls.some((c) => c.method === 'POST')).toBe(true))
    const post = calls.find((c) => c.method === 'POST')
    expect(post.path).toBe('/api/sessions/s1/calibrate')
    expect(post.body).toEqual({ minutes: 2.5 })
    await vi.waitFor(() => expect(wrapper.find('[data-test=session-profile]').text()).toBe('Learning the scene'))
    expect(firstStream.closed).toBe(true) // the detector restarted: the page listens to the new one
    const events = FakeEventSource.last
    expect(events).not.toBe(firstStream)

    events.emit('profile', { state: 'calibrated', segments: learning.segments, calibrated_at: '2026-11-21T10:03:00Z' })
    await vi.waitFor(() => expect(wrapper.find('[data-test=session-profile]').text()).toBe('Calibrated'))
    expect(wrapper.find('[data-test=session-profile]').attributes('data-profile')).toBe('calibrated')

    const confirm = vi.spyOn(ElMessageBox, 'confirm').mockResolvedValue('confirm')
    await wrapper.find('[data-test=forget-profile]').trigger('click')
    await vi.waitFor(() => expect(calls.some((c) => c.method === 'DELETE')).toBe(true))
    expect(confirm).toHaveBeenCalledTimes(1)
    expect(calls.find((c) => c.method === 'DELETE').path).toBe('/api/sessions/s1/profile')
    await vi.waitFor(() => expect(wrapper.find('[data-test=session-profile]').text()).toBe('Uncalibrated'))
    expect(wrapper.find('[data-test=forget-profile]').exists()).toBe(false)
    confirm.mockRestore()
    wrapper.unmount()
  })

  it("shows the server's message when calibrating fails", async () => {
    const { wrapper } = mountSession(ADMIN, {
      'POST /api/sessions/s1/calibrate': () => ({ status: 400, body: { error: 'stream-unavailable', message: "cannot open 'rtsp://cam/1'" } }),
    })
    await vi.waitFor(() => expect(wrapper.find('[data-test=calibrate-session]').exists()).toBe(true))
    await wrapper.find('[data-test=calibrate-session]').trigger('click')
    await wrapper.find('[data-test=calibrate-submit]').trigger('click')
    await vi.waitFor(() => expect(wrapper.find('[data-test=calibrate-error]').exists()).toBe(true))
    expect(wrapper.find('[data-test=calibrate-error]').text()).toContain("cannot open 'rtsp://cam/1'")
    expect(wrapper.find('[data-test=session-profile]').text()).toBe('Uncalibrated')
    wrapper.unmount()
  })

  it("shows the server's message for an unknown session", async () => {
    fakeServer({
      'GET /api/sessions/s9': () => ({ status: 404, body: { error: 'not_found', message: "session 's9' not found" } }),
      'GET /api/sessions/s9/alerts': () => ({ status: 404, body: { error: 'not_found', message: "session 's9' not found" } }),
      'GET /api/sessions/s9/scores': () => ({ status: 404, body: { error: 'not_found', message: "session 's9' not found" } }),
    })
    const wrapper = mount(SessionView, {
      props: { id: 's9' },
      global: { plugins: appPlugins('en'), stubs: { 'router-link': { template: '<a><slot /></a>' } } },
      attachTo: document.body,
    })
    await vi.waitFor(() => expect(wrapper.find('[data-test=error-state]').exists()).toBe(true))
    expect(wrapper.text()).toContain("session 's9' not found")
    wrapper.unmount()
  })
})
