// Live sessions: the list and its actions.
import { defineStore } from 'pinia'
import { api } from '../api.js'
import { loadItems } from './listing.js'
import { isActive } from '../utils/format.js'

export const useSessionsStore = defineStore('sessions', {
  state: () => ({ items: [], loading: false, error: null, loaded: false, timer: null }),
  actions: {
    async fetch({ quiet = false } = {}) {
      await loadItems(this, '/sessions', { quiet })
      this.stopPolling()
      if (this.items.some((item) => isActive(item.state))) {
        this.timer = setTimeout(() => this.fetch({ quiet: true }), 3000)
      }
    },
    stopPolling() {
      if (this.timer) clearTimeout(this.timer)
      this.timer = null
    },
    /** Start a session; `calibrateMinutes` > 0 makes the camera learn its scene from its first minutes. */
    async create(name, source, { calibrateMinutes = 0 } = {}) {
      const session = await api.post('/sessions', { name, source, calibrate_minutes: calibrateMinutes })
      await this.fetch({ quiet: true })
      return session
    },
    async stop(id) {
      await api.post(`/sessions/${encodeURIComponent(id)}/stop`)
      await this.fetch({ quiet: true })
    },
    async remove(id) {
      await api.delete(`/sessions/${encodeURIComponent(id)}`)
      await this.fetch({ quiet: true })
    },
  },
})
