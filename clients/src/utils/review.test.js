import { describe, expect, it } from 'vitest'
import {
  REVIEW_FILTERS, clipOf, escapeHtml, eventParams, filtersFromQuery, nearestEvent, queryFromFilters, timelineOption,
} from './review.js'

const ID = 'a'.repeat(32)

describe('review filters', () => {
  it('round-trip through the route query and leave the defaults out', () => {
    const filters = { kind: 'camera', source: `camera:${ID}`, from: '2026-01-01T00:00:00.000Z', to: '', minScore: 0.5, reviewed: 'all' }
    const query = queryFromFilters(filters, 3)
    expect(query).toEqual({ kind: 'camera', source: `camera:${ID}`, from: filters.from, min_score: '0.5', reviewed: 'all', page: '3' })
    expect(filtersFromQuery(query)).toEqual(filters)
    expect(queryFromFilters(REVIEW_FILTERS)).toEqual({})
  })

  it('drop malformed query values', () => {
    expect(filtersFromQuery({ kind: 'drone', source: 'camera:../x', min_score: '7', reviewed: 'maybe' })).toEqual(REVIEW_FILTERS)
  })

  it('become the API parameters: a camera or a video, "all" sends no reviewed filter', () => {
    expect(eventParams({ ...REVIEW_FILTERS, source: `video:${ID}`, reviewed: 'all', minScore: 0 }, 2, 20)).toMatchObject({
      page: 2, page_size: 20, video: ID, camera: undefined, reviewed: undefined, min_score: 0,
    })
    expect(eventParams({ ...REVIEW_FILTERS, source: `camera:${ID}` }, 1, 20)).toMatchObject({ camera: ID, reviewed: 'false' })
  })
})

describe('review events', () => {
  const events = [
    { id: 'alert-1', kind: 'camera', time: '2026-01-01T10:00:00Z', peak_score: 0.9, reviewed: false, source_name: '<b>gate</b>', clip_url: null },
    { id: 'video-2-0', kind: 'upload', time: '2026-01-02T10:00:00Z', peak_score: 0.7, reviewed: true, source_name: 'a.mp4', clip_url: '/api/videos/2/result#t=1.00,2.00' },
  ]

  it('play their clip unless retention removed it', () => {
    expect(clipOf(events[1])).toBe('/api/videos/2/result#t=1.00,2.00')
    expect(clipOf({ ...events[1], removed: { reason: 'age' } })).toBe('')
    expect(clipOf(events[0])).toBe('')
  })

  it('are points of the timeline; the nearest is found by time; names are escaped in tooltips', () => {
    const option = timelineOption(events, { score: 'Score' })
    expect(option.series[0].data.map((point) => point.value)).toEqual([['2026-01-01T10:00:00Z', 0.9], ['2026-01-02T10:00:00Z', 0.7]])
    expect(option.series[0].data[1].itemStyle.color).toBe('#c0c4cc')
    const day = 24 * 3600 * 1000
    expect([option.xAxis.min, option.xAxis.max]).toEqual([Date.parse(events[0].time) - 0.05 * day, Date.parse(events[1].time) + 0.05 * day])
    expect(timelineOption([events[0]], { score: 'S' }).xAxis.min).toBe(Date.parse(events[0].time) - 600000)
    expect(option.tooltip.formatter({ data: option.series[0].data[0], value: [0, 0.9] })).toBe('&lt;b&gt;gate&lt;/b&gt;<br/>Score: 0.900')
    expect(nearestEvent(events, Date.parse('2026-01-02T01:00:00Z')).id).toBe('video-2-0')
    expect(nearestEvent([], 0)).toBeNull()
    expect(escapeHtml(`"'&`)).toBe('&quot;&#39;&amp;')
  })
})
