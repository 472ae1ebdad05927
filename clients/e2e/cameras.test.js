// Browser end-to-end tests of the camera pages (headless Chromium through Nginx, the real server and embedded
// database): the offline state of a killed loopback camera and its recovery, an alert's clip that plays, a
// camera reopened after it stopped showing its score history, the settings dialog, and the grid page.
// Run by tests/e2e/test_browser.py, or by hand like app.test.js.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { apiFromPage, config, haveFile, launchBrowser, login, screenshot, serveCamera, watchErrors } from './helpers.js'

const confirmBox = '.el-message-box__btns .el-button--primary'
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }

describe('cameras', { concurrency: false }, () => {
  let browser
  let page
  let errors
  let camera = null
  let cameraId = ''
  const skip = (t) => {
    if (haveFile(config.video)) return false
    t.skip(`the Ped2 clip ${config.video} is absent`)
    return true
  }

  /** The same page at phone size (same cookies), for a screenshot. */
  async function phoneShot(path, name, ready) {
    const phone = await browser.newContext({ ...PHONE, storageState: await page.context().storageState() })
    try {
      const small = await phone.newPage()
      await small.goto(`${config.baseUrl}${path}`)
      await small.waitForSelector(ready)
      await small.waitForTimeout(800)
      await screenshot(small, name)
    } finally {
      await phone.close()
    }
  }

  before(async () => {
    assert.ok(config.adminPassword, 'set E2E_ADMIN_PASSWORD to the admin password of the stack under test')
    browser = await launchBrowser()
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } })
    page = await context.newPage()
    page.setDefaultTimeout(20000)
    errors = watchErrors(page)
    await login(page, 'admin', config.adminPassword)
  })

  after(async () => {
    if (camera) camera.stop()
    if (browser) await browser.close()
  })

  test('a killed camera shows as offline, not abnormal, and recovers; its alert keeps a clip that plays', async (t) => {
    if (skip(t)) return
    camera = await serveCamera(config.video)
    const created = await apiFromPage(page, 'POST', '/sessions', { name: 'e2e yard', source: camera.url })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    cameraId = created.body.id
    await page.goto(`${config.baseUrl}/live/${cameraId}`)
    await page.waitForFunction(() => document.querySelector('[data-test=stream]')?.naturalWidth > 0, null, { timeout: 60000 })
    await page.locator('[data-test=alert]').first().waitFor({ timeout: 90000 })

    camera.stop() // the camera goes away
    await page.locator('[data-test=offline-banner]').waitFor({ timeout: 30000 })
    await page.locator('[data-test=offline-overlay]').waitFor()
    assert.equal(await page.getAttribute('[data-test=current-score]', 'data-unknown'), 'true')
    assert.match(await page.getAttribute('[data-test=stream]', 'class'), /offline/)
    // the frozen frame itself carries no red border: the left border strip of the newest frame is not red
    const edge = await page.evaluate(async (id) => {
      const image = new Image()
      image.src = `/api/sessions/${id}/frame?t=${Date.now()}`
      await image.decode()
      const canvas = document.createElement('canvas')
      canvas.width = image.naturalWidth
      canvas.height = image.naturalHeight
      const context = canvas.getContext('2d')
      context.drawImage(image, 0, 0)
      return [...context.getImageData(2, Math.floor(canvas.height / 2), 1, 1).data]
    }, cameraId)
    assert.ok(!(edge[0] > 180 && edge[1] < 80 && edge[2] < 80), `border pixel ${edge}`)
    // and the browser shows that frame: the live view's image loses its red border too
    await page.waitForFunction(() => {
      const image = document.querySelector('[data-test=stream]')
      const canvas = document.createElement('canvas')
      canvas.width = image.naturalWidth
      canvas.height = image.naturalHeight
      const context = canvas.getContext('2d')
      context.drawImage(image, 0, 0)
      const [r, g, b] = context.getImageData(2, Math.floor(canvas.height / 2), 1, 1).data
      return !(r > 180 && g < 80 && b < 80)
    }, null, { timeout: 15000 })
    const offline = (await apiFromPage(page, 'GET', `/sessions/${cameraId}`)).body
    assert.equal(offline.state, 'reconnecting')
    assert.equal(offline.current_score, null)
    assert.ok(offline.last_seen, 'the page can say when the camera was last seen')
    await page.locator('[data-test=play-clip]:not(.is-disabled)').first().waitFor({ timeout: 30000 })
    await screenshot(page, 'cameras-01-offline')

    camera = await serveCamera(config.video, camera.port) // and comes back
    await page.locator('[data-test=offline-banner]').waitFor({ state: 'detached', timeout: 60000 })
    await page.waitForFunction(() => /\d\.\d{3}/.test(document.querySelector('[data-test=current-score]').textContent), null, { timeout: 60000 })

    await page.locator('[data-test=play-clip]:not(.is-disabled)').first().click()
    const video = page.locator('[data-test=clip-video]')
    await video.waitFor()
    await page.waitForFunction(() => {
      const element = document.querySelector('[data-test=clip-video]')
      return element && element.readyState >= 2 && element.duration > 0
    }, null, { timeout: 30000 })
    const duration = await video.evaluate((element) => element.duration)
    assert.ok(duration > 1, `clip duration ${duration}`)
    await page.waitForTimeout(500)
    await screenshot(page, 'cameras-02-clip')
    await page.keyboard.press('Escape')
    await page.locator('[data-test=clip-video]').waitFor({ state: 'detached' })
  })

  test('a camera reopened after it stopped shows its score history on the time of its scores', async (t) => {
    if (skip(t)) return
    await page.click('[data-test=stop-session]')
    await page.click(confirmBox)
    await page.locator('[data-test=session-state][data-status=stopped]').waitFor({ timeout: 30000 })
    const stopped = (await apiFromPage(page, 'GET', `/sessions/${cameraId}`)).body
    const history = (await apiFromPage(page, 'GET', `/sessions/${cameraId}/scores`)).body
    const scored = history.points.filter(([, score]) => score !== null)
    assert.ok(scored.length >= 2, `history points ${JSON.stringify(history.points)}`)
    assert.ok(history.points.some(([, score]) => score === null), 'the offline gap is in the history')
    assert.ok(scored[0][0] * 1000 >= Date.parse(stopped.started_at) - 1000)
    await page.reload()
    await page.waitForFunction((n) => Number(document.querySelector('[data-test=chart]')?.dataset.points) >= n, scored.length, { timeout: 20000 })
    assert.equal(await page.locator('[data-test=chart-window] .is-active input').inputValue(), 'all')
    await page.waitForTimeout(500)
    await screenshot(page, 'cameras-03-history-stopped')
    await phoneShot(`/live/${cameraId}`, 'cameras-04-history-phone', '[data-test=chart]')
  })

  test('the settings dialog changes a camera and shows a refused value', async (t) => {
    if (skip(t)) return
    await page.click('[data-test=camera-settings]')
    await page.locator('[data-test=camera-settings-dialog]').waitFor()
    await page.fill('[data-test=camera-cooldown] input', '30')
    await page.fill('[data-test=roi-x1] input', '0.9')
    await page.fill('[data-test=roi-x2] input', '0.2')
    await page.locator('[data-test=roi-x2] input').blur()
    await page.click('[data-test=camera-settings-submit]')
    await page.locator('[data-test=camera-settings-dialog] .el-form-item__error').waitFor() // the box is checked here too
    await page.fill('[data-test=roi-x1] input', '0.1')
    await page.fill('[data-test=roi-x2] input', '0.9')
    await page.locator('[data-test=roi-x2] input').blur()
    await page.waitForTimeout(300)
    await screenshot(page, 'cameras-05-settings')
    await page.click('[data-test=camera-settings-submit]')
    await page.locator('[data-test=camera-settings-dialog]').waitFor({ state: 'hidden' })
    const settings = (await apiFromPage(page, 'GET', `/sessions/${cameraId}`)).body.settings
    assert.equal(settings.cooldown_seconds, 30)
    assert.deepEqual(settings.roi, { x1: 0.1, y1: 0, x2: 0.9, y2: 1 })
    const refused = await apiFromPage(page, 'PATCH', `/sessions/${cameraId}`, { threshold: 2 })
    assert.equal(refused.status, 400)
    assert.match(refused.body.message, /threshold/)
  })

  test('the grid shows every camera: a running one with its frame, an offline one marked', async (t) => {
    if (skip(t)) return
    const enabled = await apiFromPage(page, 'PATCH', `/sessions/${cameraId}`, { enabled: true })
    assert.equal(enabled.status, 200, JSON.stringify(enabled.body))
    const other = await serveCamera(config.video)
    const second = await apiFromPage(page, 'POST', '/sessions', { name: 'e2e gate', source: other.url })
    assert.equal(second.status, 201, JSON.stringify(second.body))
    try {
      await page.goto(`${config.baseUrl}/live`)
      await page.click('[data-test=nav-cameras]')
      await page.waitForURL('**/cameras')
      const running = page.locator('[data-test=camera-tile]', { hasText: 'e2e yard' })
      await running.locator('[data-test=tile-frame]').waitFor({ timeout: 60000 })
      await page.waitForFunction(() => [...document.querySelectorAll('[data-test=tile-frame]')].some((img) => img.naturalWidth > 0), null, { timeout: 30000 })
      other.stop()
      const gate = page.locator('[data-test=camera-tile]', { hasText: 'e2e gate' })
      await gate.locator('[data-test=tile-offline]').waitFor({ timeout: 60000 })
      await page.waitForTimeout(500)
      await screenshot(page, 'cameras-06-grid')
      await phoneShot('/cameras', 'cameras-07-grid-phone', '[data-test=camera-tile]')
      await running.click()
      await page.waitForURL(`**/live/${cameraId}`)
    } finally {
      other.stop()
      for (const id of [cameraId, second.body.id]) assert.equal((await apiFromPage(page, 'DELETE', `/sessions/${id}`)).status, 204)
    }
    assert.deepEqual(errors, [])
  })
})
