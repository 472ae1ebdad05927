// Ask before a destructive action, then run it; a failure shows the server's message.
import { useI18n } from 'vue-i18n'
import { ElMessage, ElMessageBox } from 'element-plus'

/**
 * A `confirmThen(message, action, { title, confirmText })` bound to the current locale: a warning dialog
 * with `message`; when the user confirms, `await action()`. Resolves true when the action succeeded.
 */
export function useConfirmThen() {
  const { t } = useI18n()
  return async function confirmThen(message, action, { title = '', confirmText = t('common.confirm') } = {}) {
    try {
      await ElMessageBox.confirm(message, title, {
        type: 'warning', confirmButtonText: confirmText, cancelButtonText: t('common.cancel'),
      })
    } catch {
      return false
    }
    try {
      await action()
      return true
    } catch (e) {
      ElMessage.error(e.message)
      return false
    }
  }
}
