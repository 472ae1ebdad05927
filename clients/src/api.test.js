import { afterEach, describe, expect, it, vi } from 'vitest'
import { api, ApiError, onUnauthorized, setCsrfToken, uploadVideo } from './api.js'
import { fakeServer } from './test-support.js'

afterEach(() => {
  vi.unstubAllGlobals()
  setCsrfToken(null)
  onUnauthorized(null)
})

describe('api client', () => {
  it('sends the CSRF token on state-changing requests only', async () => {
    const calls = fakeServer({
      'GET /api/videos': () => ({ body: { items: [], total: 0, page: 1, page_size: 20 } }),
      'DELETE /api/videos/a1': () => ({ status: 204 }),
      'POST /api/sessions': (call) => ({ status: 201, body: { id: 's1', ...call.body } }),
    })
    setCsrfToken('tok-1')
    await api.get('/videos', { query: { page: 2, q: '', status: undefined } })
    expect(await api.delete('/videos/a1')).toBeNull()
    expect(await api.post('/sessions', { name: 'cam', source: 'rtsp://x' })).toEqual({ id: 's1', name: 'cam', source: 'rtsp://x' })
    expect(calls[0].headers['X-CSRF-Token']).toBeUndefined()
    expect(calls[0].url).toBe('/api/videos?page=2')
    expect(calls[1].headers['X-CSRF-Token']).toBe('tok-1')
    expect(calls[2].headers['X-CSRF-Token']).toBe('tok-1')
    expect(calls[2].headers['Content-Type']).toBe('application/json')
  })

  it("turns the server's error body into an ApiError with its message", async () => {
    fakeServer({ 'POST /api/users': () => ({ status: 409, body: { error: 'conflict', message: "user 'bob' exists" } }) })
    const error = await api.post('/users', { username: 'bob' }).catch((e) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 409, code: 'conflict', message: "user 'bob' exists" })
  })

  it('keeps the status line when the error body is not JSON', async () => {
    vi.stubGlobal('fetch', async () => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }))
    await expect(api.get('/health')).rejects.toMatchObject({ status: 502, code: 'http_502', message: '502 Bad Gateway' })
  })

  it('reports a network failure as status 0', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch')
    })
    await expect(api.get('/health')).rejects.toMatchObject({ status: 0, code: 'network', message: 'Failed to fetch' })
  })

  it('reports an expired login (401 outside /auth) to the handler, but not a failed login', async () => {
    const expired = { status: 401, body: { error: 'unauthorized', message: 'log in first' } }
    fakeServer({ 'GET /api/videos': () => expired, 'POST /api/auth/login': () => expired })
    const handler = vi.fn()
    onUnauthorized(handler)
    await expect(api.get('/videos')).rejects.toMatchObject({ status: 401 })
    expect(handler).toHaveBeenCalledTimes(1)
    await expect(api.post('/auth/login', {})).rejects.toMatchObject({ status: 401 })
    expect(handler).toHaveBeenCalledTimes(1)
  })
})

describe('video upload', () => {
  function fakeXhr(status, body) {
    const sent = []
    vi.stubGlobal('XMLHttpRequest', class {
      constructor() {
        this.headers = {}
        this.upload = {}
      }
      open(method, url) {
        Object.assign(this, { method, url })
      }
      setRequestHeader(name, value) {
        this.headers[name] = value
      }
      send(form) {
        sent.push({ method: this.method, url: this.url, headers: this.headers, form })
        this.upload.onprogress?.({ lengthComputable: true, loaded: 5, total: 10 })
        Object.assign(this, { status, statusText: '', responseText: JSON.stringify(body) })
        this.onload()
      }
    })
    return sent
  }

  it('sends the file, the scene profile when one is chosen, and the CSRF token', async () => {
    const sent = fakeXhr(201, { id: 'v1', profile: 'ped2' })
    setCsrfToken('tok-2')
    const file = new Blob(['x'], { type: 'video/mp4' })
    const progress = []
    expect(await uploadVideo(file, { profile: 'ped2', onProgress: (f) => progress.push(f) })).toEqual({ id: 'v1', profile: 'ped2' })
    expect(sent[0]).toMatchObject({ method: 'POST', url: '/api/videos', headers: { 'X-CSRF-Token': 'tok-2' } })
    expect(sent[0].form.get('profile')).toBe('ped2')
    expect(sent[0].form.has('file')).toBe(true)
    expect(progress).toEqual([0.5])
    await uploadVideo(file)
    expect(sent[1].form.has('profile')).toBe(false)
  })

  it("rejects with the server's message", async () => {
    fakeXhr(400, { error: 'unknown-profile', message: "no scene profile 'gone'" })
    await expect(uploadVideo(new Blob(['x']), { profile: 'gone' })).rejects.toMatchObject({ status: 400, code: 'unknown-profile', message: "no scene profile 'gone'" })
  })
})
