// Browser tests of the review page, uploads stored as recorded, translated server errors, the English login
// page and a viewer's own password: headless Chromium through Nginx against the real server (run by
// tests/e2e/test_browser.py after app.test.js, or by hand like it). Screenshots: <artifacts>/review-*.png.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { apiFromPage, config, haveFile, launchBrowser, login, screenshot, watchErrors } from './helpers.js'

const folder = mkdtempSync(path.join(tmpdir(), 'e2e-review-'))
const PAL = path.join(folder, 'pal-768x576.mp4')
const REVIEWER = { username: `reviewer${Date.now() % 100000}`, password: 'reviewer-pass-7' }
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }

/** A 768x576 (4:3) clip: the Ped2 clip scaled (its cyclist is the abnormal interval), else a test pattern. */
function makePalClip() {
  const input = haveFile(config.video) ? ['-i', config.video] : ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', '-t', '6']
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...input, '-vf', 'scale=768:576,setsar=1',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', PAL])
}

describe('review, recorded results and translated errors', { concurrency: false }, () => {
  let browser
  let page
  let errors
  let record = null

  before(async () => {
    assert.ok(config.adminPassword, 'set E2E_ADMIN_PASSWORD to the admin password of the stack under test')
    makePalClip()
    browser = await launchBrowser()
    page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage()
    page.setDefaultTimeout(20000)
    errors = watchErrors(page)
  })

  after(async () => {
    if (browser) await browser.close()
  })

  test('the login page in English: its labels and the server error in English', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } })
    try {
      const english = await context.newPage()
      const englishErrors = watchErrors(english)
      await english.goto(`${config.baseUrl}/login`)
      await english.click('[data-test=login-language] label:has-text("English")')
      await english.waitForSelector('button:has-text("Log in")')
      assert.equal(await english.getAttribute('html', 'lang'), 'en')
      await english.fill('[data-test=username]', 'admin')
      await english.fill('[data-test=password]', 'not-the-password')
      await english.click('[data-test=login-submit]')
      const message = (await english.textContent('[data-test=login-error]')).trim()
      assert.equal(message, 'Wrong username or password')
      await screenshot(english, 'review-01-login-english')
      assert.deepEqual(englishErrors, [])
    } finally {
      await context.close()
    }
  })

  test('a server error in the Chinese UI is said in Chinese, with its parameters', async () => {
    await login(page, 'admin', config.adminPassword)
    const bad = path.join(folder, '坏文件.mp4')
    writeFileSync(bad, 'not a video\n'.repeat(40))
    await page.setInputFiles('.upload-box input[type=file]', bad)
    const text = (await page.textContent('[data-test=upload-error]')).trim()
    assert.ok(text.includes('文件“坏文件.mp4”不是可以解码的视频'), text)
    assert.ok(!/not a readable video|cannot be decoded/.test(text), `English server text shown: ${text}`)
    await screenshot(page, 'review-02-error-zh')
  })

  test('a 768x576 upload gives a 768x576 result, and the detail page shows the original size and rate', async () => {
    await page.setInputFiles('.upload-box input[type=file]', PAL)
    const row = page.locator('.videos-table .el-table__row', { hasText: 'pal-768x576.mp4' }).first()
    await row.waitFor()
    await row.locator('[data-status=done]').waitFor({ timeout: config.jobTimeoutMs })
    await row.locator('[data-test=video-link]').click()
    await page.waitForURL('**/videos/*')
    record = await page.evaluate(async () => (await fetch(`/api/videos/${location.pathname.split('/').pop()}`)).json())
    assert.deepEqual([record.width, record.height], [768, 576])
    await page.waitForFunction(() => document.querySelector('[data-test=player]')?.videoWidth > 0)
    const size = await page.locator('[data-test=player]').evaluate((video) => [video.videoWidth, video.videoHeight])
    assert.deepEqual(size, [768, 576])
    assert.equal((await page.textContent('[data-test=stored-size]')).trim(), '768×576')
    assert.match((await page.textContent('[data-test=original-size]')).trim(), /^768×576 · \d+(\.\d+)? fps$/)
    const disposition = await page.evaluate(async (id) => (await fetch(`/api/videos/${id}/result`, { method: 'HEAD' })).headers.get('Content-Disposition'), record.id)
    assert.match(disposition, /^inline; filename="?pal-768x576-result\.mp4"?$/)
    await screenshot(page, 'review-03-detail-768x576')
  })

  test('the review page: filter by the video, play the interval, mark reviewed, filter by state, unmark', async (t) => {
    if (!record?.intervals?.length) {
      t.skip('the upload has no abnormal interval (no Ped2 clip, real models)')
      return
    }
    await page.click('[data-test=nav-review]')
    await page.waitForURL('**/review')
    await page.click('[data-test=filter-source]')
    await page.click(`.el-select-dropdown__item:has-text("pal-768x576.mp4")`)
    await page.waitForURL((url) => url.searchParams.get('source') === `video:${record.id}`)
    const rows = page.locator('[data-test=events-table] .event-row')
    await page.waitForFunction((n) => document.querySelectorAll('[data-test=events-table] .event-row').length === n, record.intervals.length)
    await screenshot(page, 'review-04-review-desktop')

    // Play the first interval: the result video seeked to it (a media fragment), in a dialog.
    await rows.first().locator('[data-test=event-play]').click()
    const player = page.locator('[data-test=clip-player]')
    await player.waitFor()
    await page.waitForFunction(() => document.querySelector('[data-test=clip-player]').readyState >= 2)
    const start = record.intervals[0].start_time
    const at = await player.evaluate((video) => video.currentTime)
    assert.ok(Math.abs(at - start) < 0.6, `the clip starts at ${at}, the interval at ${start}`)
    await screenshot(page, 'review-05-clip')
    await page.click('[data-test=dialog-mark]')
    await page.locator('[data-test=dialog-unmark]').waitFor()
    await page.keyboard.press('Escape')
    await rows.first().locator('[data-test=event-reviewed]').waitFor()

    // Reviewed ones leave the default "to review" list, and are listed under "reviewed".
    await page.reload()
    await page.waitForFunction((n) => document.querySelectorAll('[data-test=events-table] .event-row').length === n, record.intervals.length - 1)
    await page.click('[data-test=filter-reviewed] label:has-text("已复核")')
    await page.waitForURL((url) => url.searchParams.get('reviewed') === 'true')
    await rows.first().locator('[data-test=event-reviewed]').waitFor()
    assert.equal(await rows.count(), 1)
    await rows.first().locator('[data-test=event-unmark]').click()
    await rows.first().locator('[data-test=event-unreviewed]').waitFor()
    const events = await apiFromPage(page, 'GET', `/events?video=${record.id}&reviewed=false`)
    assert.equal(events.body.total, record.intervals.length)

    // A time range after every event: nothing matches.
    await page.goto(`${config.baseUrl}/review?source=video%3A${record.id}&from=2999-01-01T00%3A00%3A00.000Z&reviewed=all`)
    await page.waitForSelector('[data-test=events-empty]:has-text("没有符合条件的事件")')
    const bad = await apiFromPage(page, 'GET', '/events?min_score=2')
    assert.equal(bad.status, 400)
    assert.equal(bad.body.params.parameter, 'min_score')
    assert.deepEqual(errors, [])
  })

  test('a viewer on a phone: the review page, and their own password (the current one asked first)', async () => {
    const created = await apiFromPage(page, 'POST', '/users', { ...REVIEWER, role: 'viewer' })
    assert.equal(created.status, 201)
    const context = await browser.newContext(PHONE)
    try {
      const viewer = await context.newPage()
      const viewerErrors = watchErrors(viewer)
      await login(viewer, REVIEWER.username, REVIEWER.password)
      await viewer.goto(`${config.baseUrl}/review?reviewed=all`)
      await viewer.locator('[data-test=events-table] .event-row').first().waitFor()
      await viewer.locator('[data-test=events-table] .event-row [data-test=event-play]').first().waitFor()
      await viewer.waitForTimeout(500)
      await screenshot(viewer, 'review-06-review-phone')

      await viewer.click('[data-test=user-menu]')
      await viewer.click('[data-test=my-password]')
      await viewer.fill('[data-test=current-password-input]', 'not-my-password')
      await viewer.fill('[data-test=change-password-input]', 'aaaabbbb')
      await viewer.click('[data-test=change-password-submit]')
      await viewer.waitForSelector('[data-test=password-error]:has-text("密码至少要有 4 个不同的字符")')
      await viewer.fill('[data-test=change-password-input]', 'a-new-viewer-pass-3')
      await viewer.click('[data-test=change-password-submit]')
      await viewer.waitForSelector('[data-test=password-error]:has-text("当前密码不正确")')
      await screenshot(viewer, 'review-07-own-password-phone')
      await viewer.fill('[data-test=current-password-input]', REVIEWER.password)
      await viewer.click('[data-test=change-password-submit]')
      await viewer.locator('[data-test=password-dialog]').waitFor({ state: 'hidden' })
      const again = await viewer.evaluate(async (body) => (await fetch('/api/auth/login', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      })).status, { username: REVIEWER.username, password: 'a-new-viewer-pass-3' })
      assert.equal(again, 200)
      assert.deepEqual(viewerErrors, [])
    } finally {
      await context.close()
    }
  })

  test('the users table on a phone: the actions do not cover Role and Created', async () => {
    const context = await browser.newContext(PHONE)
    try {
      const admin = await context.newPage()
      await login(admin, 'admin', config.adminPassword)
      await admin.goto(`${config.baseUrl}/users`)
      const row = admin.locator('[data-test=users-table] .el-table__body .el-table__row').first()
      await row.waitFor()
      const boxes = await row.evaluate((tr) => [...tr.querySelectorAll('td')].map((td) => {
        const box = td.getBoundingClientRect()
        return { left: box.left, right: box.right, visible: getComputedStyle(td).visibility !== 'hidden' }
      }))
      assert.equal(boxes.length, 4, 'username, role, created, actions')
      for (let index = 1; index < boxes.length; index += 1) {
        assert.ok(boxes[index].left >= boxes[index - 1].right - 1, `column ${index} overlaps column ${index - 1}`)
      }
      assert.equal(await admin.locator('.el-table-fixed-column--right').count(), 0, 'no column fixed over the others')
      assert.ok(boxes.at(-1).right <= 390, `the actions end at ${boxes.at(-1).right}, past the screen`)
      await screenshot(admin, 'review-08-users-phone')
    } finally {
      await context.close()
    }
  })
})
