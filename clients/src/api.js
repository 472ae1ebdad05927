// HTTP client for the server's /api (see docs/server.md).
// Every state-changing request carries the CSRF token handed out by login and /auth/me.

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

let csrfToken = null
let unauthorizedHandler = null
let errorTranslator = null

/**
 * Say server errors in the UI's language: `translator(code, params)` returns the text for an error's stable
 * code and parameters, or nothing to keep the server's English message.
 */
export function setErrorTranslator(translator) {
  errorTranslator = translator
}

/** Call `handler()` when the server answers 401 outside /auth (the session expired): back to login. */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler
}

/** Remember the CSRF token that state-changing requests must send. */
export function setCsrfToken(token) {
  csrfToken = token || null
}

export function getCsrfToken() {
  return csrfToken
}

/**
 * An error answered by the server (`{error, message, params}`) or a network failure (status 0). `message`
 * is in the UI's language where a translator knows the code; `serverMessage` keeps the server's text.
 */
export class ApiError extends Error {
  constructor(status, code, message, params = {}) {
    const translated = errorTranslator ? errorTranslator(code, params) : null
    super(translated || message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.params = params
    this.serverMessage = message
  }
}

/** The ApiError for a failed answer: the body's `{error, message, params}`, else the status line. */
function errorFromBody(status, statusText, body) {
  const fields = body && typeof body === 'object' ? body : {}
  const params = fields.params && typeof fields.params === 'object' ? fields.params : {}
  return new ApiError(
    status, fields.error || `http_${status}`, fields.message || `${status} ${statusText}`.trim(), params,
  )
}

async function errorFromResponse(response) {
  let body = null
  try {
    body = await response.json()
  } catch {
    // not JSON (for example an Nginx error page): keep the status line
  }
  return errorFromBody(response.status, response.statusText, body)
}

/**
 * Send a request to `/api<path>` and return the parsed JSON body (null for 204).
 * A `body` is sent as JSON.
 */
export async function request(method, path, { body, query } = {}) {
  const headers = { Accept: 'application/json' }
  if (UNSAFE.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken
  let payload
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json'
    payload = JSON.stringify(body)
  }
  let url = `/api${path}`
  if (query) {
    const params = new URLSearchParams()
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
    }
    const text = params.toString()
    if (text) url += `?${text}`
  }
  let response
  try {
    response = await fetch(url, { method, headers, body: payload, credentials: 'same-origin' })
  } catch (error) {
    throw new ApiError(0, 'network', error && error.message ? error.message : 'network error')
  }
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith('/auth/') && unauthorizedHandler) unauthorizedHandler()
    throw await errorFromResponse(response)
  }
  if (response.status === 204) return null
  const type = response.headers.get('Content-Type') || ''
  return type.includes('json') ? response.json() : response.text()
}

export const api = {
  get: (path, options) => request('GET', path, options),
  post: (path, body, options = {}) => request('POST', path, { ...options, body }),
  put: (path, body, options = {}) => request('PUT', path, { ...options, body }),
  patch: (path, body, options = {}) => request('PATCH', path, { ...options, body }),
  delete: (path, options) => request('DELETE', path, options),
}

/**
 * Upload a video as multipart field `file` with upload progress (XMLHttpRequest, because fetch has no
 * upload progress). `onProgress(fraction)` gets 0..1; `profile` (a scene profile id from GET /api/profiles)
 * goes along as the field `profile`, none lets the server learn from the video itself. Resolves with the
 * created record.
 */
export function uploadVideo(file, { onProgress, profile } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', '/api/videos')
    xhr.setRequestHeader('Accept', 'application/json')
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken)
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total)
    }
    xhr.onload = () => {
      let body = null
      try {
        body = JSON.parse(xhr.responseText)
      } catch {
        // not JSON: errorFromBody keeps the status line
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body)
      else reject(errorFromBody(xhr.status, xhr.statusText, body))
    }
    xhr.onerror = () => reject(new ApiError(0, 'network', 'network error during upload'))
    xhr.onabort = () => reject(new ApiError(0, 'aborted', 'upload cancelled'))
    const form = new FormData()
    form.append('file', file)
    if (profile) form.append('profile', profile)
    xhr.send(form)
  })
}
