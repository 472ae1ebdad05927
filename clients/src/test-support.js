// Test support: a scripted stand-in for the server behind `fetch` (the browser's network boundary).
import { vi } from 'vitest'

/**
 * Replace global fetch with answers from `routes` ({'GET /api/videos': (call) => ({status, body})}).
 * Returns the list of calls ({method, url, path, query, headers, body}). Unknown routes answer 404.
 */
export function fakeServer(routes) {
  const calls = []
  vi.stubGlobal('fetch', async (url, init = {}) => {
    const parsed = new URL(url, 'http://app.test')
    const call = {
      method: init.method || 'GET',
      url,
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
      headers: init.headers || {},
      body: typeof init.body === 'string' ? JSON.parse(init.body) : init.body,
    }
    calls.push(call)
    const handler = routes[`${call.method} ${call.path}`]
    const answer = handler ? await handler(call) : { status: 404, body: { error: 'not_found', message: `no route ${call.path}` } }
    const status = answer.status || 200
    const text = answer.body === undefined ? '' : JSON.stringify(answer.body)
    return new Response(status === 204 ? null : text, {
      status,
      headers: { 'Content-Type': 'application/json' },
    })
  })
  return calls
}

export const ADMIN = { id: 'u1', username: 'admin', role: 'admin', created_at: '2026-11-21T10:00:00Z' }
export const VIEWER = { id: 'u2', username: 'viewer', role: 'viewer', created_at: '2026-11-21T10:00:00Z' }

/** A stand-in for EventSource: `FakeEventSource.last` is the newest; `emit(type, data)` delivers an event. */
export class FakeEventSource {
  static last = null
  constructor(url) {
    this.url = url
    this.listeners = {}
    this.closed = false
    FakeEventSource.last = this
  }
  addEventListener(type, handler) {
    this.listeners[type] = handler
  }
  emit(type, data) {
    this.listeners[type]({ data: JSON.stringify(data) })
  }
  close() {
    this.closed = true
  }
}
