// Scene profiles an upload can be scored with (shipped ones and calibrated cameras').
import { defineStore } from 'pinia'
import { loadItems } from './listing.js'

export const useProfilesStore = defineStore('profiles', {
  state: () => ({ items: [], loading: false, error: null, loaded: false }),
  actions: {
    async fetch() {
      await loadItems(this, '/profiles')
    },
  },
})
