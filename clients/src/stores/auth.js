// The logged-in user and the CSRF token.
import { defineStore } from 'pinia'
import { api, setCsrfToken, ApiError } from '../api.js'

export const useAuthStore = defineStore('auth', {
  state: () => ({ user: null, checked: false }),
  getters: {
    loggedIn: (state) => state.user !== null,
    isAdmin: (state) => state.user?.role === 'admin',
  },
  actions: {
    apply(body) {
      this.user = body.user
      setCsrfToken(body.csrf_token)
      this.checked = true
    },
    /** Ask the server who is logged in (once per page load unless forced); false when nobody is. */
    async fetchMe({ force = false } = {}) {
      if (this.checked && !force) return this.loggedIn
      try {
        this.apply(await api.get('/auth/me'))
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 401) throw error
        this.clear()
      }
      return this.loggedIn
    },
    async login(username, password) {
      this.apply(await api.post('/auth/login', { username, password }))
    },
    async logout() {
      try {
        await api.post('/auth/logout')
      } finally {
        this.clear()
      }
    },
    clear() {
      this.user = null
      this.checked = true
      setCsrfToken(null)
    },
  },
})
