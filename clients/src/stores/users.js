// User administration (admin only on the server).
import { defineStore } from 'pinia'
import { api } from '../api.js'

export const useUsersStore = defineStore('users', {
  state: () => ({ items: [], loading: false, error: null, loaded: false }),
  actions: {
    async fetch() {
      this.loading = true
      try {
        const body = await api.get('/users', { query: { page: 1, page_size: 100 } })
        this.items = Array.isArray(body) ? body : body.items
        this.error = null
        this.loaded = true
      } catch (error) {
        this.error = error.message
      } finally {
        this.loading = false
      }
    },
    async create({ username, password, role }) {
      const user = await api.post('/users', { username, password, role })
      await this.fetch()
      return user
    },
    async remove(id) {
      await api.delete(`/users/${encodeURIComponent(id)}`)
      await this.fetch()
    },
    async changePassword(id, password) {
      await api.put(`/users/${encodeURIComponent(id)}/password`, { password })
    },
  },
})
