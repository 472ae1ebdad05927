import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { POLL_MS, useVideosStore } from './videos.js'
import { fakeServer } from '../test-support.js'

function record(id, status) {
  return { id, name: `${id}.mp4`, status, progress: status === 'done' ? 1 : 0.3 }
}

beforeEach(() => {
  setActivePinia(createPinia())
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('videos store', () => {
  it('sends search, status and paging, and keeps polling while a job runs', async () => {
    let items = [record('a', 'processing'), record('b', 'done')]
    const calls = fakeServer({ 'GET /api/videos': () => ({ body: { items, total: items.length, page: 1, page_size: 10 } }) })
    const videos = useVideosStore()
    await videos.setQuery({ q: 'cam', status: 'processing' })
    expect(calls[0].query).toEqual({ page: '1', page_size: '10', q: 'cam', status: 'processing' })
    expect(videos.items).toHaveLength(2)
    expect(videos.hasActiveJobs).toBe(true)

    items = [record('a', 'done'), record('b', 'done')]
    await vi.advanceTimersByTimeAsync(POLL_MS)
    expect(calls).toHaveLength(2)
    expect(videos.hasActiveJobs).toBe(false)
    await vi.advanceTimersByTimeAsync(POLL_MS * 3)
    expect(calls).toHaveLength(2) // nothing runs: polling stopped
  })

  it('stops polling when asked (page left)', async () => {
    const calls = fakeServer({ 'GET /api/videos': () => ({ body: { items: [record('a', 'queued')], total: 1, page: 1, page_size: 10 } }) })
    const videos = useVideosStore()
    await videos.fetch()
    videos.stopPolling()
    await vi.advanceTimersByTimeAsync(POLL_MS * 3)
    expect(calls).toHaveLength(1)
  })

  it('goes back to the last page when the current one became empty', async () => {
    const calls = fakeServer({
      'GET /api/videos': (call) => ({ body: { items: call.query.page === '1' ? [record('a', 'done')] : [], total: 1, page: Number(call.query.page), page_size: 10 } }),
    })
    const videos = useVideosStore()
    await videos.setQuery({ page: 3 })
    expect(videos.page).toBe(1)
    expect(videos.items).toHaveLength(1)
    expect(calls.map((c) => c.query.page)).toEqual(['3', '1'])
  })

  it("keeps the server's message when the list fails", async () => {
    fakeServer({ 'GET /api/videos': () => ({ status: 503, body: { error: 'database', message: 'database unavailable' } }) })
    const videos = useVideosStore()
    await videos.fetch()
    expect(videos.error).toBe('database unavailable')
    expect(videos.loading).toBe(false)
  })

  it('deletes with the CSRF header and reloads', async () => {
    const calls = fakeServer({
      'DELETE /api/videos/a': () => ({ status: 204 }),
      'GET /api/videos': () => ({ body: { items: [], total: 0, page: 1, page_size: 10 } }),
    })
    const videos = useVideosStore()
    await videos.remove('a')
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['DELETE /api/videos/a', 'GET /api/videos'])
  })
})
