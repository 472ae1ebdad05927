// A reactive media query, for layouts that change more than CSS can (tables become cards on phones).
import { onBeforeUnmount, ref } from 'vue'

export const PHONE_QUERY = '(max-width: 640px)'

export function useMediaQuery(query = PHONE_QUERY) {
  const list = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia(query) : null
  const matches = ref(list ? list.matches : false)
  const update = (event) => {
    matches.value = event.matches
  }
  if (list) list.addEventListener('change', update)
  onBeforeUnmount(() => list && list.removeEventListener('change', update))
  return matches
}
