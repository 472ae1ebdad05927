// Shared pieces of the browser end-to-end tests: configuration from the environment, Chromium, artifacts,
// and an ffmpeg-served loopback stream.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = path.dirname(fileURLToPath(import.meta.url))
export const CLIENT_ROOT = path.resolve(here, '..')
const REPO_ROOT = path.resolve(CLIENT_ROOT, '..')

/** Where the stack under test runs and how to log in (set by tests/e2e/test_browser.py). */
export const config = {
  baseUrl: (process.env.E2E_BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, ''),
  adminPassword: process.env.E2E_ADMIN_PASSWORD || '',
  video: process.env.E2E_VIDEO || path.resolve(REPO_ROOT, '..', 'shared', 'data', 'ucsd-ped2', 'Test001.mp4'),
  artifacts: process.env.E2E_ARTIFACTS || path.join(CLIENT_ROOT, 'test-results'),
  chromium: process.env.E2E_CHROMIUM || '/usr/bin/chromium',
  jobTimeoutMs: Number(process.env.E2E_JOB_TIMEOUT_MS || 150000),
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: config.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  })
}

/** Save a full-page screenshot as `<artifacts>/<name>.png`. */
export async function screenshot(page, name) {
  mkdirSync(config.artifacts, { recursive: true })
  await page.screenshot({ path: path.join(config.artifacts, `${name}.png`), fullPage: true })
}

/** Collect page errors so a test can assert the client threw none. */
export function watchErrors(page) {
  const errors = []
  page.on('pageerror', (error) => errors.push(error.message))
  return errors
}

export async function login(page, username, password) {
  await page.goto(`${config.baseUrl}/login`)
  await page.fill('[data-test=username]', username)
  await page.fill('[data-test=password]', password)
  await page.click('[data-test=login-submit]')
  await page.waitForURL('**/videos')
}

/** Call the API from inside the page (same cookies), with the CSRF token from /api/auth/me. */
export async function apiFromPage(page, method, apiPath, body) {
  return page.evaluate(async ({ method, apiPath, body }) => {
    const me = await (await fetch('/api/auth/me')).json()
    const headers = { 'X-CSRF-Token': me.csrf_token }
    let payload
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json'
      payload = JSON.stringify(body)
    }
    const response = await fetch(`/api${apiPath}`, { method, headers, body: payload })
    const text = await response.text()
    return { status: response.status, body: text ? JSON.parse(text) : null }
  }, { method, apiPath, body })
}

export function haveFile(file) {
  return existsSync(file)
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/**
 * Serve `clip` in a loop as MPEG-TS over HTTP on a loopback port with ffmpeg (one client).
 * Returns `{url, stop}`.
 */
export async function serveLoopbackStream(clip) {
  const port = await freePort()
  const ffmpeg = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip,
    '-an', '-c:v', 'copy', '-f', 'mpegts', '-listen', '1', `http://127.0.0.1:${port}`],
  { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  ffmpeg.stderr.on('data', (chunk) => { log += chunk })
  await new Promise((resolve) => setTimeout(resolve, 500))
  if (ffmpeg.exitCode !== null) throw new Error(`ffmpeg exited at once: ${log}`)
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => {
      if (ffmpeg.exitCode === null) ffmpeg.kill('SIGKILL')
    },
  }
}

/**
 * A camera that many clients can open, again and again (as real cameras allow): an HTTP server on a loopback
 * port giving every request its own `ffmpeg -re -stream_loop -1 -i clip ... -f mpegts pipe:1`. `stop()`
 * takes the camera away (server and streams); `serveCamera(clip, port)` brings it back on the same port.
 */
export async function serveCamera(clip, port = 0) {
  const children = new Set()
  const server = createHttpServer((request, response) => {
    const ffmpeg = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip,
      '-an', '-c:v', 'copy', '-f', 'mpegts', 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'] })
    children.add(ffmpeg)
    response.writeHead(200, { 'Content-Type': 'video/mp2t' })
    ffmpeg.stdout.pipe(response)
    const end = () => {
      ffmpeg.kill('SIGKILL')
      children.delete(ffmpeg)
    }
    request.on('close', end)
    ffmpeg.on('exit', () => response.destroy())
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  const bound = server.address().port
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}/live.ts`,
    stop: () => {
      for (const child of children) child.kill('SIGKILL')
      server.closeAllConnections()
      server.close()
    },
  }
}
