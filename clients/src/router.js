// Routes (history mode; Nginx falls back to index.html) and the login guard.
import { createRouter, createWebHistory } from 'vue-router'
import { useAuthStore } from './stores/auth.js'

export const routes = [
  { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
  { path: '/', redirect: '/videos' },
  { path: '/videos', name: 'videos', component: () => import('./views/VideosView.vue') },
  { path: '/videos/:id', name: 'video', component: () => import('./views/VideoDetailView.vue'), props: true },
  { path: '/live', name: 'live', component: () => import('./views/LiveView.vue') },
  { path: '/live/:id', name: 'session', component: () => import('./views/SessionView.vue'), props: true },
  { path: '/review', name: 'review', component: () => import('./views/ReviewView.vue') },
  { path: '/users', name: 'users', component: () => import('./views/UsersView.vue'), meta: { admin: true } },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue'), meta: { public: true } },
]

/** The page a login returns to: `?redirect=` when it is a path of this app, else the videos page. */
export function redirectTarget(query) {
  const target = query.redirect
  return typeof target === 'string' && target.startsWith('/') && !target.startsWith('//') ? target : '/videos'
}

/** Where a navigation may go: login for anonymous users, the videos page for non-admins on admin pages. */
export async function guard(to, auth) {
  let loggedIn = false
  try {
    loggedIn = await auth.fetchMe()
  } catch {
    loggedIn = auth.loggedIn // server unreachable: let the page show its own error state
  }
  if (to.meta.public) {
    return to.name === 'login' && loggedIn ? { path: redirectTarget(to.query) } : true
  }
  if (!loggedIn) return { name: 'login', query: { redirect: to.fullPath } }
  if (to.meta.admin && !auth.isAdmin) return { name: 'videos' }
  return true
}

export function createAppRouter(history = createWebHistory()) {
  const router = createRouter({ history, routes })
  router.beforeEach((to) => guard(to, useAuthStore()))
  return router
}
