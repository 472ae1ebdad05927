// The videos list: query (search, status, page), the current page of records, polling while jobs run.
import { defineStore } from 'pinia'
import { api } from '../api.js'
import { isActive } from '../utils/format.js'

export const POLL_MS = 2000

export const useVideosStore = defineStore('videos', {
  state: () => ({
    items: [],
    total: 0,
    page: 1,
    pageSize: 10,
    q: '',
    status: '',
    loading: false,
    error: null,
    loaded: false,
    timer: null,
  }),
  getters: {
    hasActiveJobs: (state) => state.items.some((item) => isActive(item.status)),
  },
  actions: {
    /** Load the current page; `quiet` keeps the table visible (used by polling). */
    async fetch({ quiet = false } = {}) {
      if (!quiet) this.loading = true
      try {
        const body = await api.get('/videos', {
          query: { page: this.page, page_size: this.pageSize, q: this.q, status: this.status },
        })
        this.items = body.items
        this.total = body.total
        this.error = null
        this.loaded = true
        if (this.items.length === 0 && this.total > 0 && this.page > 1) {
          this.page = Math.max(1, Math.ceil(this.total / this.pageSize))
          return this.fetch({ quiet })
        }
      } catch (error) {
        this.error = error.message
      } finally {
        this.loading = false
      }
      this.schedulePoll()
    },
    setQuery({ q = this.q, status = this.status, page = 1, pageSize = this.pageSize } = {}) {
      Object.assign(this, { q, status, page, pageSize })
      return this.fetch()
    },
    schedulePoll() {
      this.stopPolling()
      if (this.hasActiveJobs) this.timer = setTimeout(() => this.fetch({ quiet: true }), POLL_MS)
    },
    stopPolling() {
      if (this.timer) clearTimeout(this.timer)
      this.timer = null
    },
    async remove(id) {
      await api.delete(`/videos/${encodeURIComponent(id)}`)
      await this.fetch({ quiet: true })
    },
  },
})
