// The review page's pure parts: filters <-> route query <-> GET /api/events parameters, and the timeline.

export const REVIEW_FILTERS = { kind: '', source: '', from: '', to: '', minScore: null, reviewed: 'false' }

/** Filters from a route query (unknown or malformed values fall back to the defaults). */
export function filtersFromQuery(query = {}) {
  const text = (value) => (typeof value === 'string' ? value : '')
  const score = Number.parseFloat(text(query.min_score))
  const reviewed = text(query.reviewed)
  return {
    kind: ['camera', 'upload'].includes(query.kind) ? query.kind : '',
    source: /^(camera|video):[0-9a-f]{32}$/.test(text(query.source)) ? query.source : '',
    from: text(query.from),
    to: text(query.to),
    minScore: Number.isFinite(score) && score >= 0 && score <= 1 ? score : null,
    reviewed: ['true', 'false', 'all'].includes(reviewed) ? reviewed : REVIEW_FILTERS.reviewed,
  }
}

/** The route query of filters and a page (defaults left out). */
export function queryFromFilters(filters, page = 1) {
  const query = {}
  if (filters.kind) query.kind = filters.kind
  if (filters.source) query.source = filters.source
  if (filters.from) query.from = filters.from
  if (filters.to) query.to = filters.to
  if (filters.minScore !== null && filters.minScore !== undefined) query.min_score = String(filters.minScore)
  if (filters.reviewed !== REVIEW_FILTERS.reviewed) query.reviewed = filters.reviewed
  if (page > 1) query.page = String(page)
  return query
}

/** GET /api/events parameters of filters, a page and its size. */
export function eventParams(filters, page, pageSize) {
  const [sourceKind, sourceId] = (filters.source || ':').split(':')
  return {
    page,
    page_size: pageSize,
    kind: filters.kind || undefined,
    camera: sourceKind === 'camera' ? sourceId : undefined,
    video: sourceKind === 'video' ? sourceId : undefined,
    from: filters.from || undefined,
    to: filters.to || undefined,
    min_score: filters.minScore ?? undefined,
    reviewed: filters.reviewed === 'all' ? undefined : filters.reviewed,
  }
}

/** The player source of an event: its clip, none when retention removed it or it has none. */
export function clipOf(event) {
  return event && !event.removed && event.clip_url ? event.clip_url : ''
}

/** Text made safe for the HTML of a chart tooltip (names come from users). */
export function escapeHtml(text) {
  const entities = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
  return String(text ?? '').replace(/[&<>"']/g, (char) => entities[char])
}

/** ECharts option of the timeline: one point per event (time, peak score), reviewed ones grey. */
export function timelineOption(events, labels) {
  const point = (event) => ({
    value: [event.time, event.peak_score ?? 0],
    id: event.id,
    itemStyle: { color: event.reviewed ? '#c0c4cc' : event.kind === 'camera' ? '#f56c6c' : '#e6a23c' },
  })
  const times = events.map((event) => Date.parse(event.time)).filter(Number.isFinite)
  const first = Math.min(...times)
  const last = Math.max(...times)
  const pad = Math.max((last - first) * 0.05, 10 * 60 * 1000) // a lone event gets ten minutes each side
  return {
    animation: false,
    grid: { left: 44, right: 16, top: 16, bottom: 32 },
    tooltip: { trigger: 'item', formatter: (item) => `${escapeHtml(item.data.name)}<br/>${labels.score}: ${Number(item.value[1]).toFixed(3)}` },
    xAxis: times.length ? { type: 'time', min: first - pad, max: last + pad } : { type: 'time' },
    yAxis: { type: 'value', min: 0, max: 1, name: labels.score },
    series: [{
      type: 'scatter',
      symbolSize: 12,
      data: events.map((event) => ({ ...point(event), name: event.source_name || event.source_id })),
    }],
  }
}

/** The event nearest to the time `x` (epoch ms) on the timeline, or null. */
export function nearestEvent(events, x) {
  let best = null
  for (const event of events) {
    const distance = Math.abs(Date.parse(event.time) - x)
    if (best === null || distance < best.distance) best = { event, distance }
  }
  return best ? best.event : null
}
