// Submitting an Element Plus form: validate, then run the action; a failure shows the server's message.
import { ref } from 'vue'

/**
 * `{ busy, error, submit }`: `submit(formRef, action)` validates the el-form behind `formRef`, then
 * `await action()` with `busy` set; a failure's message lands in `error`.
 */
export function useFormSubmit() {
  const busy = ref(false)
  const error = ref('')
  async function submit(formRef, action) {
    error.value = ''
    if (!(await formRef.value.validate().catch(() => false))) return
    busy.value = true
    try {
      await action()
    } catch (e) {
      error.value = e.message
    } finally {
      busy.value = false
    }
  }
  return { busy, error, submit }
}
