// User administration (admin only on the server).
import { defineStore } from 'pinia'
import { api } from '../api.js'
import { loadItems } from './listing.js'

export const useUsersStore = defineStore('users', {
  state: () => ({ items: [], loading: false, error: null, loaded: false }),
  actions: {
    fetch() {
      return loadItems(this, '/users')
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
    // `current` (the current password) is needed for one's own password only.
    async changePassword(id, password, current) {
      await api.put(`/users/${encodeURIComponent(id)}/password`, current ? { password, current_password: current } : { password })
    },
  },
})
