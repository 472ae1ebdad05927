// UI languages: Chinese (default) and English; the choice is remembered in localStorage.
import { createI18n } from 'vue-i18n'
import { messages } from './locales.js'

export const LOCALES = [
  { value: 'zh-CN', label: '中文' },
  { value: 'en', label: 'English' },
]
const STORAGE_KEY = 'surveillance.locale'

function initialLocale() {
  try {
    const saved = globalThis.localStorage?.getItem(STORAGE_KEY)
    if (saved && messages[saved]) return saved
  } catch {
    // storage unavailable (private mode): fall back to the default
  }
  return 'zh-CN'
}

export function createAppI18n(locale = initialLocale()) {
  return createI18n({ legacy: false, locale, fallbackLocale: 'en', messages })
}

/**
 * The translator of server errors for `setErrorTranslator`: `errors.<params.reason>`, else `errors.<code>`,
 * in the current language with the error's parameters; null when neither key exists.
 */
export function errorTranslator(i18n) {
  const { t, te } = i18n.global
  return (code, params = {}) => {
    for (const key of [params.reason, code]) {
      if (typeof key === 'string' && /^[a-z0-9-]+$/.test(key) && te(`errors.${key}`)) return t(`errors.${key}`, params)
    }
    return null
  }
}

/** Switch the UI language (`localeRef` is the global composer's `locale`) and remember it. */
export function setLocale(localeRef, locale) {
  if (!messages[locale]) throw new Error(`unknown locale ${locale}`)
  localeRef.value = locale
  document.documentElement.lang = locale
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, locale)
  } catch {
    // storage unavailable: the choice lasts for this page only
  }
}
