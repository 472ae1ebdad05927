// Pure formatting helpers shared by the pages.

/** Seconds as m:ss (or h:mm:ss); '—' when unknown. */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '—'
  const total = Math.round(seconds)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  const ss = String(s).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** Seconds with one decimal, for interval bounds. */
export function formatSeconds(seconds) {
  if (!Number.isFinite(seconds)) return '—'
  return `${seconds.toFixed(1)} s`
}

/** A score in [0, 1] with three decimals; '—' when absent. */
export function formatScore(score) {
  if (!Number.isFinite(score)) return '—'
  return score.toFixed(3)
}

/** An ISO 8601 timestamp in the browser's local time; '—' when absent or invalid. */
export function formatDateTime(iso, locale = 'zh-CN') {
  if (!iso) return '—'
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return '—'
  return date.toLocaleString(locale, { hour12: false })
}

/** Element Plus tag type for a video status or a session state. */
export function statusTagType(status) {
  switch (status) {
    case 'done':
    case 'running':
      return 'success'
    case 'processing':
    case 'starting':
    case 'connecting':
    case 'reconnecting':
      return 'warning'
    case 'failed':
      return 'danger'
    default:
      return 'info'
  }
}

/** Whether a video job or a session is still changing (the page keeps polling). */
export function isActive(status) {
  return ['queued', 'processing', 'starting', 'connecting', 'running', 'reconnecting'].includes(status)
}

/** Progress 0..1 as a whole percentage for el-progress. */
export function percent(progress) {
  if (!Number.isFinite(progress)) return 0
  return Math.max(0, Math.min(100, Math.round(progress * 100)))
}

/** File name stem for downloads: the video name without its extension, as the server names its downloads
 * (servers/api/videos.py `download_name`); only characters no file system takes become `_`. */
export function downloadStem(name) {
  const stem = String(name || 'video').replace(/\.[^.]+$/, '')
  return stem.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_') || 'video'
}
