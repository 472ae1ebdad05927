import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useSessionsStore } from './sessions.js'
import { useProfilesStore } from './profiles.js'
import { fakeServer } from '../test-support.js'

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.unstubAllGlobals())

describe('sessions store', () => {
  it('creates a session with the minutes to learn the scene from, then reloads the list', async () => {
    const calls = fakeServer({
      'POST /api/sessions': (call) => ({ status: 201, body: { id: 's1', ...call.body } }),
      'GET /api/sessions': () => ({ body: { items: [{ id: 's1', state: 'stopped' }], total: 1, page: 1, page_size: 100 } }),
    })
    const sessions = useSessionsStore()
    await sessions.create('gate', 'rtsp://cam/1', { calibrateMinutes: 2.5 })
    expect(calls[0].body).toEqual({ name: 'gate', source: 'rtsp://cam/1', calibrate_minutes: 2.5 })
    await sessions.create('yard', 'rtsp://cam/2')
    expect(calls.filter((c) => c.method === 'POST')[1].body).toEqual({ name: 'yard', source: 'rtsp://cam/2', calibrate_minutes: 0 })
    expect(sessions.items).toHaveLength(1)
  })
})

describe('profiles store', () => {
  it('loads the scene profiles and keeps the server message on failure', async () => {
    let fail = false
    fakeServer({
      'GET /api/profiles': () => (fail
        ? { status: 503, body: { error: 'database', message: 'database unavailable' } }
        : { body: { items: [{ id: 'ped2', name: 'ped2', kind: 'shipped' }] } }),
    })
    const profiles = useProfilesStore()
    await profiles.fetch()
    expect(profiles.items).toEqual([{ id: 'ped2', name: 'ped2', kind: 'shipped' }])
    expect(profiles.loaded).toBe(true)
    fail = true
    await profiles.fetch()
    expect(profiles.error).toBe('database unavailable')
    expect(profiles.loading).toBe(false)
  })
})
