import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import App from './App.vue'
import { createAppRouter } from './router.js'
import { createAppI18n, errorTranslator } from './i18n.js'
import { onUnauthorized, setErrorTranslator } from './api.js'
import { useAuthStore } from './stores/auth.js'
import './style.css'

const i18n = createAppI18n()
document.documentElement.lang = i18n.global.locale.value
setErrorTranslator(errorTranslator(i18n))
const pinia = createPinia()
const router = createAppRouter()
createApp(App).use(pinia).use(router).use(i18n).use(ElementPlus).mount('#app')

// The login session expired (server restarted with a new key, user deleted): go to the login page.
onUnauthorized(() => {
  useAuthStore(pinia).clear()
  const current = router.currentRoute.value
  if (current.name !== 'login') router.push({ name: 'login', query: { redirect: current.fullPath } })
})
