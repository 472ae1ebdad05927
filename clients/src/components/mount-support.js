// Test support for component tests: the app's plugins (a fresh Pinia, i18n, Element Plus) for mount().
import { createPinia, setActivePinia } from 'pinia'
import ElementPlus from 'element-plus'
import { createAppI18n } from '../i18n.js'

export function appPlugins(locale = 'en') {
  const pinia = createPinia()
  setActivePinia(pinia)
  return [pinia, createAppI18n(locale), ElementPlus]
}
