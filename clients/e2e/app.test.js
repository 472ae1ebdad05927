// Browser end-to-end tests: headless Chromium through Nginx against the real server and embedded database.
// Run by tests/e2e/test_browser.py (which starts `python -m servers stack`), or by hand against a running
// stack: E2E_BASE_URL=http://127.0.0.1:8080 E2E_ADMIN_PASSWORD=... node --test e2e/app.test.js
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  apiFromPage, config, haveFile, launchBrowser, login, screenshot, serveLoopbackStream, watchErrors,
} from './helpers.js'

const VIEWER = { username: `viewer${Date.now() % 100000}`, password: 'viewer-password-1' }
const confirmBox = '.el-message-box__btns .el-button--primary'

describe('surveillance web client', { concurrency: false }, () => {
  let browser
  let context
  let page
  let errors
  let videoName = ''

  before(async () => {
    assert.ok(config.adminPassword, 'set E2E_ADMIN_PASSWORD to the admin password of the stack under test')
    browser = await launchBrowser()
    context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true })
    page = await context.newPage()
    page.setDefaultTimeout(20000)
    errors = watchErrors(page)
  })

  after(async () => {
    if (browser) await browser.close()
  })

  test('login: a wrong password shows the server message, the right one opens the videos page', async () => {
    await page.goto(`${config.baseUrl}/videos`)
    await page.waitForURL('**/login?redirect=**')
    await screenshot(page, '01-login')
    await page.fill('[data-test=username]', 'admin')
    await page.fill('[data-test=password]', 'not-the-password')
    // Enter in the password field submits the form once (each failure counts towards the login throttle).
    const logins = []
    const countLogin = (request) => request.url().endsWith('/api/auth/login') && logins.push(request.method())
    page.on('request', countLogin)
    await page.press('[data-test=password]', 'Enter')
    const message = await page.textContent('[data-test=login-error]')
    await page.waitForTimeout(300)
    page.off('request', countLogin)
    assert.deepEqual(logins, ['POST'])
    const direct = await page.evaluate(async () => {
      const response = await fetch('/api/auth/login', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'not-the-password' }),
      })
      return response.json()
    })
    assert.equal(direct.error, 'invalid-credentials')
    assert.equal(message.trim(), '用户名或密码错误') // the server's code said in the UI's language
    await page.fill('[data-test=password]', config.adminPassword)
    await page.click('[data-test=login-submit]')
    await page.waitForURL('**/videos')
    await page.waitForSelector('[data-test=videos-table]')
  })

  test('a bad upload shows the server message', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'e2e-'))
    const bad = path.join(folder, 'not-a-video.mp4')
    writeFileSync(bad, 'this is text, not a video\n'.repeat(50))
    await page.setInputFiles('.upload-box input[type=file]', bad)
    const alert = await page.waitForSelector('[data-test=upload-error]')
    const text = (await alert.textContent()).trim()
    // The client shows "<upload failed>: <the server's error said in the UI's language>".
    const serverMessage = await page.evaluate(async () => {
      const me = await (await fetch('/api/auth/me')).json()
      const form = new FormData()
      form.append('file', new Blob(['this is text, not a video\n'.repeat(50)], { type: 'video/mp4' }), 'not-a-video.mp4')
      const response = await fetch('/api/videos', { method: 'POST', body: form, headers: { 'X-CSRF-Token': me.csrf_token } })
      const body = await response.json()
      return { status: response.status, message: body.message, code: body.error }
    })
    assert.ok(serverMessage.status >= 400 && serverMessage.status < 500, `status ${serverMessage.status}`)
    assert.ok(!serverMessage.message.includes('.part'), `the message names a server file: ${serverMessage.message}`)
    assert.equal(serverMessage.code, 'not-a-video')
    assert.ok(text.includes('文件“not-a-video.mp4”不是可以解码的视频'), text)
    await screenshot(page, '02-videos-bad-upload')
  })

  test('upload a Ped2 video and watch it reach done', async (t) => {
    if (!haveFile(config.video)) {
      t.skip(`the Ped2 clip ${config.video} is absent`)
      return
    }
    videoName = path.basename(config.video)
    await page.setInputFiles('.upload-box input[type=file]', config.video)
    const row = page.locator('.videos-table .el-table__row', { hasText: videoName }).first()
    await row.waitFor()
    await row.locator('[data-status=done]').waitFor({ timeout: config.jobTimeoutMs })
    await page.waitForFunction(() => [...document.querySelectorAll('.videos-table img')].some((img) => img.naturalWidth > 0))
    await screenshot(page, '03-videos-done')
    const done = await page.evaluate(async () => (await (await fetch('/api/videos?status=done')).json()).total)
    assert.ok(done >= 1)
  })

  test('video detail: the player plays, the chart shows the interval, clicks seek the video', async (t) => {
    if (!videoName) {
      t.skip('no video was uploaded')
      return
    }
    await page.locator('[data-test=video-link]', { hasText: videoName }).first().click()
    await page.waitForURL('**/videos/*')
    const player = page.locator('[data-test=player]')
    await player.waitFor()
    await page.waitForFunction(() => document.querySelector('[data-test=player]').readyState >= 2)
    await player.evaluate((video) => video.play())
    await page.waitForFunction(() => document.querySelector('[data-test=player]').currentTime > 0.5, null, { timeout: 20000 })
    await player.evaluate((video) => video.pause())

    const intervals = page.locator('[data-test=intervals] .el-table__body tr')
    assert.ok((await intervals.count()) >= 1, 'at least one abnormal interval is listed')
    // The interval is shaded on the chart (markArea) and the threshold drawn (markLine).
    const shaded = await page.evaluate(() => [...document.querySelectorAll('[data-test=chart] svg path')]
      .filter((p) => (p.getAttribute('fill') || '').replace(/\s/g, '').includes('245,108,108')).length)
    assert.ok(shaded >= 1, 'the abnormal interval is shaded on the chart')

    // Clicking the first interval row seeks to its start.
    const record = await page.evaluate(async () => {
      const id = location.pathname.split('/').pop()
      return (await fetch(`/api/videos/${id}`)).json()
    })
    assert.equal(record.scores.length, record.frames)
    const first = record.intervals[0]
    await player.evaluate((video, time) => { video.currentTime = time }, Math.min(first.end_time, record.duration) - 0.3)
    await page.waitForFunction(() => !document.querySelector('[data-test=player]').seeking)
    const before = await player.evaluate((video) => video.currentTime)
    await intervals.first().click()
    await page.waitForFunction((start) => Math.abs(document.querySelector('[data-test=player]').currentTime - start) < 0.2, first.start_time)
    const afterRow = await player.evaluate((video) => video.currentTime)
    assert.notEqual(afterRow, before)

    // Clicking the chart at three quarters of its plot seeks to about three quarters of the video.
    const box = await page.locator('[data-test=chart]').boundingBox()
    const grid = { left: 44, right: 16 }
    const x = box.x + grid.left + 0.75 * (box.width - grid.left - grid.right)
    await page.mouse.click(x, box.y + box.height / 2)
    const target = 0.75 * record.duration
    await page.waitForFunction((t) => Math.abs(document.querySelector('[data-test=player]').currentTime - t) < 0.5, target)
      .catch(async (error) => {
        const now = await player.evaluate((video) => [video.currentTime, video.duration])
        throw new Error(`chart click: currentTime ${now[0]} (video duration ${now[1]}), expected about ${target}: ${error.message}`)
      })
    await screenshot(page, '04-video-detail')

    // Downloads point at the result video, the CSV and a JSON document of the scores.
    assert.match(await page.getAttribute('[data-test=download-video]', 'href'), /\/api\/videos\/[^/]+\/result$/)
    const csv = await page.evaluate(async (href) => (await fetch(href)).text(), await page.getAttribute('[data-test=download-csv]', 'href'))
    assert.ok(csv.split('\n').filter(Boolean).length >= record.frames, 'the CSV has a line per frame')
    const download = page.waitForEvent('download')
    await page.click('[data-test=download-json]')
    const json = JSON.parse(readFileSync(await (await download).path(), 'utf8'))
    assert.equal(json.scores.length, record.frames)
  })

  test('a live session on a loopback stream shows frames and an alert, and stops', async (t) => {
    if (!haveFile(config.video)) {
      t.skip(`the Ped2 clip ${config.video} is absent`)
      return
    }
    const stream = await serveLoopbackStream(config.video)
    try {
      await page.click('[data-test=nav-live]')
      await page.waitForURL('**/live')
      await page.click('[data-test=new-session]')
      await page.fill('[data-test=session-name]', 'e2e camera')
      await page.fill('[data-test=session-source]', stream.url)
      await page.click('[data-test=session-submit]')
      await page.waitForURL('**/live/*')
      await page.waitForFunction(() => {
        const img = document.querySelector('[data-test=stream]')
        return img && img.naturalWidth > 0
      }, null, { timeout: 60000 })
      // the real pipeline (I3D, CenterNet, motion) on 2 cores: the first alert can take a while under load
      await page.locator('[data-test=alert]').first().waitFor({ timeout: 150000 })
      await page.waitForFunction(() => /\d\.\d{3}/.test(document.querySelector('[data-test=current-score]').textContent))
      // The rolling chart is fed by the score events.
      await page.waitForFunction(() => Number(document.querySelector('[data-test=chart]').dataset.points) >= 3, null, { timeout: 30000 })
      await page.locator('[data-test=alert] img').first().waitFor()
      await screenshot(page, '05-live-session')
      await page.click('[data-test=stop-session]')
      await page.click(confirmBox)
      await page.locator('[data-test=session-state][data-status=stopped]').waitFor({ timeout: 30000 })
      await page.click('[data-test=nav-live]')
      const row = page.locator('[data-test=sessions-table] .el-table__row', { hasText: 'e2e camera' }).first()
      await row.locator('[data-status=stopped]').waitFor()
      const alerts = Number((await row.locator('[data-test=alerts-count]').textContent()).trim())
      assert.ok(alerts >= 1, `alerts count ${alerts}`)
      await screenshot(page, '06-live-list')
    } finally {
      stream.stop()
    }
  })

  test('users: the admin creates a viewer, who can look but not delete', async () => {
    await page.click('[data-test=nav-users]')
    await page.waitForURL('**/users')
    await page.click('[data-test=new-user]')
    await page.fill('[data-test=new-username]', VIEWER.username)
    await page.fill('[data-test=new-password]', VIEWER.password)
    await page.click('[data-test=user-submit]')
    await page.locator('[data-test=users-table] .el-table__row', { hasText: VIEWER.username }).waitFor()
    await screenshot(page, '07-users')

    const viewerContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
    try {
      const viewer = await viewerContext.newPage()
      const viewerErrors = watchErrors(viewer)
      await login(viewer, VIEWER.username, VIEWER.password)
      await viewer.waitForSelector('[data-test=videos-table]')
      await viewer.waitForTimeout(500)
      assert.equal(await viewer.locator('[data-test=delete-video]').count(), 0, 'no delete buttons for a viewer')
      assert.equal(await viewer.locator('.upload-box').count(), 0, 'no upload for a viewer')
      assert.equal(await viewer.locator('[data-test=nav-users]').count(), 0, 'no users page for a viewer')
      await screenshot(viewer, '08-viewer-videos-phone')
      const list = await viewer.evaluate(async () => (await fetch('/api/videos')).json())
      if (list.items.length) {
        const answer = await apiFromPage(viewer, 'DELETE', `/videos/${list.items[0].id}`)
        assert.equal(answer.status, 403)
        assert.ok(answer.body.message)
        await viewer.goto(`${config.baseUrl}/videos/${list.items[0].id}`)
        await viewer.waitForSelector('[data-test=video-name]')
        await viewer.waitForTimeout(800)
        await screenshot(viewer, '09-viewer-detail-phone')
      }
      await viewer.goto(`${config.baseUrl}/live`)
      await viewer.waitForSelector('[data-test=sessions-table]')
      assert.equal(await viewer.locator('[data-test=new-session]').count(), 0, 'no new session for a viewer')
      // The phone list has no action column for anyone: the session page shows what a viewer may do.
      const sessions = await viewer.evaluate(async () => (await fetch('/api/sessions')).json())
      if (sessions.items.length) {
        await viewer.locator('[data-test=sessions-table] .el-table__row').first().waitFor()
        await screenshot(viewer, '10-viewer-live-phone')
        await viewer.locator('[data-test=session-link]').first().click()
        await viewer.locator('[data-test=session-state]').waitFor()
        await viewer.waitForTimeout(500)
        assert.equal(await viewer.locator('[data-test=stop-session], [data-test=delete-session]').count(), 0)
        await screenshot(viewer, '10-viewer-session-phone')
      }
      await viewer.goto(`${config.baseUrl}/users`)
      await viewer.waitForURL('**/videos')
      assert.deepEqual(viewerErrors, [])
    } finally {
      await viewerContext.close()
    }
  })

  test('English UI, an unknown route, and what Nginx lets browsers cache', async () => {
    await page.goto(`${config.baseUrl}/no/such/page`)
    await page.waitForSelector('.el-result')
    const caching = await page.evaluate(async () => {
      const asset = document.querySelector('script[type=module]').getAttribute('src')
      const answers = await Promise.all(['/', '/index.html', '/no/such/page', asset].map((url) => fetch(url)))
      return answers.map((answer) => answer.headers.get('Cache-Control'))
    })
    assert.deepEqual(caching, ['no-cache', 'no-cache', 'no-cache', 'public, max-age=31536000, immutable'])
    await page.goto(`${config.baseUrl}/videos`)
    await page.click('.lang')
    await page.click('.el-select-dropdown__item:has-text("English")')
    await page.waitForSelector('text=Drop a video here')
    await page.locator('.el-select-dropdown').first().waitFor({ state: 'hidden' })
    await screenshot(page, '11-videos-english')
    await page.click('.lang')
    await page.click('.el-select-dropdown__item:has-text("中文")')
    assert.deepEqual(errors, [])
  })

  test('the admin deletes the session and the video after confirming', async () => {
    await page.goto(`${config.baseUrl}/live`)
    const sessionRow = page.locator('[data-test=sessions-table] .el-table__row', { hasText: 'e2e camera' })
    if (await sessionRow.count()) {
      await sessionRow.first().locator('[data-test=delete-session]').click()
      await page.click(confirmBox)
      await sessionRow.first().waitFor({ state: 'detached' })
    }
    await page.goto(`${config.baseUrl}/videos`)
    await page.waitForSelector('[data-test=videos-table]')
    const rows = page.locator('.videos-table .el-table__body .el-table__row')
    await page.waitForTimeout(300)
    const before = await rows.count()
    if (before) {
      await rows.first().locator('[data-test=delete-video]').click()
      await page.locator('.el-message-box').waitFor()
      await page.click('.el-message-box__btns .el-button:not(.el-button--primary)') // cancel keeps it
      await page.waitForTimeout(300)
      assert.equal(await rows.count(), before)
      await rows.first().locator('[data-test=delete-video]').click()
      await page.click(confirmBox)
      await page.waitForFunction((n) => document.querySelectorAll('.videos-table .el-table__body .el-table__row').length === n - 1, before)
    }
    assert.deepEqual(errors, [])
  })
})
