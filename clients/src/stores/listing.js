// The first page of a list resource, loaded into a store with loading / error / loaded flags.
import { api } from '../api.js'

/** Load up to 100 items of `path` into `store.items`; `quiet` keeps the loading flag (polling). */
export async function loadItems(store, path, { quiet = false } = {}) {
  if (!quiet) store.loading = true
  try {
    store.items = (await api.get(path, { query: { page: 1, page_size: 100 } })).items
    store.error = null
    store.loaded = true
  } catch (error) {
    store.error = error.message
  } finally {
    store.loading = false
  }
}
