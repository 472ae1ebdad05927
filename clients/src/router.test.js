import { afterEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { guard } from './router.js'
import { useAuthStore } from './stores/auth.js'
import { ADMIN, VIEWER, fakeServer } from './test-support.js'

afterEach(() => vi.unstubAllGlobals())

function as(user) {
  setActivePinia(createPinia())
  fakeServer({
    'GET /api/auth/me': () => (user ? { body: { user, csrf_token: 't' } } : { status: 401, body: { error: 'unauthorized', message: 'log in' } }),
  })
  return useAuthStore()
}

const route = (name, meta = {}, extra = {}) => ({ name, meta, fullPath: `/${name}`, query: {}, ...extra })

describe('navigation guard', () => {
  it('sends anonymous users to the login page with the way back', async () => {
    expect(await guard(route('videos'), as(null))).toEqual({ name: 'login', query: { redirect: '/videos' } })
    expect(await guard(route('login', { public: true }), as(null))).toBe(true)
  })

  it('keeps viewers off admin pages', async () => {
    expect(await guard(route('users', { admin: true }), as(VIEWER))).toEqual({ name: 'videos' })
    expect(await guard(route('users', { admin: true }), as(ADMIN))).toBe(true)
  })

  it('sends logged-in users from the login page to where they were going', async () => {
    const to = route('login', { public: true }, { query: { redirect: '/live' } })
    expect(await guard(to, as(ADMIN))).toEqual({ path: '/live' })
    const away = route('login', { public: true }, { query: { redirect: '//elsewhere.example/x' } })
    expect(await guard(away, as(ADMIN))).toEqual({ path: '/videos' })
  })
})
