import { afterEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useAuthStore } from './auth.js'
import { getCsrfToken, setCsrfToken } from '../api.js'
import { ADMIN, VIEWER, fakeServer } from '../test-support.js'

afterEach(() => {
  vi.unstubAllGlobals()
  setCsrfToken(null)
})

describe('auth store', () => {
  it('logs in, keeps the CSRF token for later writes, and logs out', async () => {
    setActivePinia(createPinia())
    const calls = fakeServer({
      'POST /api/auth/login': (call) => (call.body.password === 'right'
        ? { body: { user: ADMIN, csrf_token: 'csrf-9' } }
        : { status: 401, body: { error: 'unauthorized', message: 'wrong username or password' } }),
      'POST /api/auth/logout': () => ({ status: 204 }),
    })
    const auth = useAuthStore()
    await expect(auth.login('admin', 'wrong')).rejects.toThrow('wrong username or password')
    expect(auth.loggedIn).toBe(false)
    await auth.login('admin', 'right')
    expect(auth.user).toEqual(ADMIN)
    expect(auth.isAdmin).toBe(true)
    expect(getCsrfToken()).toBe('csrf-9')
    await auth.logout()
    expect(calls.at(-1).headers['X-CSRF-Token']).toBe('csrf-9')
    expect(auth.loggedIn).toBe(false)
    expect(getCsrfToken()).toBeNull()
  })

  it('asks the server once who is logged in; 401 means nobody', async () => {
    setActivePinia(createPinia())
    let answer = { status: 401, body: { error: 'unauthorized', message: 'log in first' } }
    const calls = fakeServer({ 'GET /api/auth/me': () => answer })
    const auth = useAuthStore()
    expect(await auth.fetchMe()).toBe(false)
    expect(await auth.fetchMe()).toBe(false)
    expect(calls).toHaveLength(1)
    answer = { body: { user: VIEWER, csrf_token: 'c2' } }
    expect(await auth.fetchMe({ force: true })).toBe(true)
    expect(auth.isAdmin).toBe(false)
  })

  it('passes other failures on (server down is not "logged out")', async () => {
    setActivePinia(createPinia())
    fakeServer({ 'GET /api/auth/me': () => ({ status: 503, body: { error: 'database', message: 'database unavailable' } }) })
    await expect(useAuthStore().fetchMe()).rejects.toThrow('database unavailable')
  })
})
