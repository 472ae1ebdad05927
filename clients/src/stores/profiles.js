// Scene profiles an upload can be scored with (shipped ones and calibrated cameras').
import { defineStore } from 'pinia'
import { api } from '../api.js'

export const useProfilesStore = defineStore('profiles', {
  state: () => ({ items: [], loading: false, error: null, loaded: false }),
  actions: {
    async fetch() {
      this.loading = true
      try {
        this.items = (await api.get('/profiles')).items || []
        this.error = null
        this.loaded = true
      } catch (error) {
        this.error = error.message
      } finally {
        this.loading = false
      }
    },
  },
})
