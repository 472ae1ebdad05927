// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import UploadBox from './UploadBox.vue'
import NewSessionDialog from './NewSessionDialog.vue'
import { appPlugins } from './mount-support.js'
import { fakeServer } from '../test-support.js'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

/** A stand-in XMLHttpRequest that records what an upload sends and answers 201 with `record`. */
function fakeUploads(record = { id: 'v1', name: 'clip.mp4', status: 'queued' }) {
  const sent = []
  class FakeXhr {
    constructor() {
      this.headers = {}
      this.upload = {}
    }
    open(method, url) {
      this.method = method
      this.url = url
    }
    setRequestHeader(name, value) {
      this.headers[name] = value
    }
    send(form) {
      sent.push({ method: this.method, url: this.url, form })
      setTimeout(() => {
        this.status = 201
        this.responseText = JSON.stringify(record)
        this.onload()
      }, 0)
    }
  }
  vi.stubGlobal('XMLHttpRequest', FakeXhr)
  return sent
}

async function chooseFile(wrapper, name = 'clip.mp4') {
  const input = wrapper.find('input[type=file]')
  const file = new File(['video bytes'], name, { type: 'video/mp4' })
  Object.defineProperty(input.element, 'files', { value: [file], configurable: true })
  await input.trigger('change')
  return file
}

const PROFILES = { items: [{ id: 'ped2', name: 'ped2', kind: 'shipped' }, { id: 'c0ffee', name: 'gate camera', kind: 'camera' }] }

describe('UploadBox', () => {
  it('sends the chosen scene profile next to the file', async () => {
    const calls = fakeServer({ 'GET /api/profiles': () => ({ body: PROFILES }) })
    const sent = fakeUploads()
    const wrapper = mount(UploadBox, { global: { plugins: appPlugins('en') }, attachTo: document.body })
    await vi.waitFor(() => expect(calls.map((c) => c.path)).toContain('/api/profiles'))
    await flushPromises()
    await wrapper.find('[data-test=upload-profile] .el-select__wrapper').trigger('click')
    await vi.waitFor(() => expect(document.body.textContent).toContain('gate camera'))
    const options = [...document.body.querySelectorAll('.el-select-dropdown__item')]
    expect(options.map((o) => o.textContent.trim())).toEqual(['None (learn from the video itself)', 'ped2shipped', 'gate cameracamera'])
    options.find((o) => o.textContent.includes('gate camera')).click()
    await flushPromises()
    const file = await chooseFile(wrapper)
    await vi.waitFor(() => expect(sent).toHaveLength(1))
    expect(sent[0]).toMatchObject({ method: 'POST', url: '/api/videos' })
    expect(sent[0].form.get('file')).toBeInstanceOf(File)
    expect(sent[0].form.get('file').name).toBe(file.name)
    expect(sent[0].form.get('profile')).toBe('c0ffee')
    await vi.waitFor(() => expect(wrapper.emitted('uploaded')).toBeTruthy())
    expect(wrapper.emitted('uploaded')[0][0]).toMatchObject({ id: 'v1' })
    wrapper.unmount()
  })

  it('sends no profile by default, and still uploads when the profiles cannot load', async () => {
    fakeServer({ 'GET /api/profiles': () => ({ status: 503, body: { error: 'database', message: 'database unavailable' } }) })
    const sent = fakeUploads()
    const wrapper = mount(UploadBox, { global: { plugins: appPlugins('en') }, attachTo: document.body })
    await vi.waitFor(() => expect(wrapper.find('[data-test=profiles-error]').exists()).toBe(true))
    expect(wrapper.find('[data-test=profiles-error]').text()).toContain('database unavailable')
    await chooseFile(wrapper)
    await vi.waitFor(() => expect(sent).toHaveLength(1))
    expect(sent[0].form.get('profile')).toBeNull()
    expect(sent[0].form.has('file')).toBe(true)
    wrapper.unmount()
  })
})

describe('NewSessionDialog', () => {
  function mountDialog(routes) {
    const calls = fakeServer({
      'POST /api/sessions': (call) => ({ status: 201, body: { id: 's1', state: 'starting', ...call.body } }),
      'GET /api/sessions': () => ({ body: { items: [], total: 0, page: 1, page_size: 100 } }),
      ...routes,
    })
    const wrapper = mount(NewSessionDialog, { props: { modelValue: true }, global: { plugins: appPlugins('en') }, attachTo: document.body })
    return { wrapper, calls }
  }

  async function fill(wrapper, minutes) {
    await wrapper.find('[data-test=session-name]').setValue('gate')
    await wrapper.find('[data-test=session-source]').setValue(' rtsp://cam/1 ')
    if (minutes !== undefined) {
      const input = wrapper.find('[data-test=session-calibrate] input')
      await input.setValue(minutes)
      await input.trigger('change')
    }
  }

  it('sends calibrate_minutes with the new session', async () => {
    const { wrapper, calls } = mountDialog()
    await vi.waitFor(() => expect(wrapper.find('[data-test=session-calibrate] input').exists()).toBe(true))
    expect(wrapper.text()).toContain('Learn the scene from the first N minutes')
    await fill(wrapper, '3')
    await wrapper.find('[data-test=session-submit]').trigger('click')
    await vi.waitFor(() => expect(calls.some((c) => c.method === 'POST')).toBe(true))
    expect(calls.find((c) => c.method === 'POST').body).toEqual({ name: 'gate', source: 'rtsp://cam/1', calibrate_minutes: 3 })
    await vi.waitFor(() => expect(wrapper.emitted('created')).toBeTruthy())
    expect(wrapper.emitted('created')[0][0]).toMatchObject({ id: 's1', calibrate_minutes: 3 })
    wrapper.unmount()
  })

  it('sends 0 minutes by default and refuses less than 15 seconds of learning', async () => {
    const { wrapper, calls } = mountDialog()
    await vi.waitFor(() => expect(wrapper.find('[data-test=session-calibrate] input').exists()).toBe(true))
    await fill(wrapper, '0.1')
    await wrapper.find('[data-test=session-submit]').trigger('click')
    await vi.waitFor(() => expect(wrapper.text()).toContain('Enter 0, or 0.25 to 240 minutes'))
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(0)
    const input = wrapper.find('[data-test=session-calibrate] input')
    await input.setValue('0')
    await input.trigger('change')
    await wrapper.find('[data-test=session-submit]').trigger('click')
    await vi.waitFor(() => expect(calls.some((c) => c.method === 'POST')).toBe(true))
    expect(calls.find((c) => c.method === 'POST').body).toMatchObject({ calibrate_minutes: 0 })
    wrapper.unmount()
  })

  it("shows the server's message when the session cannot start", async () => {
    const { wrapper } = mountDialog({
      'POST /api/sessions': () => ({ status: 400, body: { error: 'invalid-field', message: "field 'calibrate_minutes' must be a number" } }),
    })
    await vi.waitFor(() => expect(wrapper.find('[data-test=session-name]').exists()).toBe(true))
    await fill(wrapper)
    await wrapper.find('[data-test=session-submit]').trigger('click')
    await vi.waitFor(() => expect(wrapper.find('[data-test=session-error]').exists()).toBe(true))
    expect(wrapper.find('[data-test=session-error]').text()).toContain("field 'calibrate_minutes' must be a number")
    wrapper.unmount()
  })
})
