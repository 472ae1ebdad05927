import { describe, expect, it } from 'vitest'
import {
  historyPoints, liveChartOption, liveTimeAxis, playheadSeries, pushCapped, scoreChartOption, scorePoints, scoresJson,
} from './charts.js'

const labels = { time: 'Time', score: 'Score', threshold: 'Threshold', abnormal: 'Abnormal' }

describe('offline score chart', () => {
  it('places frame f at f / fps seconds', () => {
    expect(scorePoints([0.1, 0.2, 0.3], 10)).toEqual([[0, 0.1], [0.1, 0.2], [0.2, 0.3]])
    expect(scorePoints([0.5], 0)).toEqual([[0, 0.5]])
    expect(scorePoints(undefined, 10)).toEqual([])
  })

  it('draws the threshold line and shades every abnormal interval', () => {
    const intervals = [
      { start_time: 1, end_time: 2.5, peak_score: 0.9 },
      { start_time: 4, end_time: 5, peak_score: 0.8, category: 'cycling' },
    ]
    const option = scoreChartOption({ scores: new Array(60).fill(0.2), fps: 10, threshold: 0.5, intervals, duration: 6, labels })
    const [scores, playhead] = option.series
    expect(scores.data).toHaveLength(60)
    expect(scores.markLine.data).toEqual([expect.objectContaining({ yAxis: 0.5 })])
    expect(scores.markArea.data).toEqual([
      [{ xAxis: 1, name: 'Abnormal' }, { xAxis: 2.5 }],
      [{ xAxis: 4, name: 'cycling' }, { xAxis: 5 }],
    ])
    expect(option.xAxis.max).toBe(6)
    expect(option.yAxis).toMatchObject({ min: 0, max: 1 })
    expect(playhead.id).toBe('playhead')
  })

  it('leaves the threshold out when the record has none', () => {
    const option = scoreChartOption({ scores: [0.1], fps: 10, threshold: null, intervals: [], labels })
    expect(option.series[0].markLine.data).toEqual([])
    expect(option.series[0].markArea.data).toEqual([])
  })

  it('moves the playhead', () => {
    expect(playheadSeries(3.2).markLine.data).toEqual([{ xAxis: 3.2 }])
    expect(playheadSeries(Number.NaN).markLine.data).toEqual([{ xAxis: 0 }])
  })
})

describe('live score chart', () => {
  it('keeps at most the newest points', () => {
    const points = []
    for (let t = 0; t <= 100_000; t += 10_000) pushCapped(points, [t, t / 1e5], 4)
    expect(points.map((p) => p[0])).toEqual([70_000, 80_000, 90_000, 100_000])
  })

  it('shows the last window up to the newest point, not before the first, at least a minute', () => {
    expect(liveTimeAxis([[5_000, 0.1], [90_000, 0.2]], 60)).toMatchObject({ type: 'time', min: 30_000, max: 90_000 })
    expect(liveTimeAxis([[5_000, 0.1], [900_000, 0.2]], Infinity)).toMatchObject({ min: 5_000, max: 900_000 })
    expect(liveTimeAxis([[800_000, 0.1], [900_000, 0.2]], 3600)).toMatchObject({ min: 800_000, max: 900_000 })
    expect(liveTimeAxis([[890_000, 0.1], [900_000, 0.2]], 3600)).toMatchObject({ min: 840_000, max: 900_000 })
  })

  it('puts the stored history on the time axis of its scores, gaps as null', () => {
    expect(historyPoints([[1_700_000_000, 0.25], [1_700_000_005.5, null]])).toEqual([[1_700_000_000_000, 0.25], [1_700_000_005_500, null]])
    expect(historyPoints(undefined)).toEqual([])
  })

  it('draws the threshold line only when the threshold is known', () => {
    const option = liveChartOption({ points: [], threshold: 0.6, labels })
    expect(option.series[0].markLine.data).toEqual([{ yAxis: 0.6 }])
    expect(liveChartOption({ points: [], threshold: undefined, labels }).series[0].markLine).toBeUndefined()
  })
})

it('exports scores and intervals as JSON', () => {
  const record = { name: 'a.mp4', fps: 10, frames: 2, threshold: 0.5, peak_score: 0.7, intervals: [{ start_frame: 1 }], scores: [0.1, 0.7], extra: 1 }
  const parsed = JSON.parse(scoresJson(record))
  expect(parsed).toEqual({ name: 'a.mp4', fps: 10, frames: 2, threshold: 0.5, peak_score: 0.7, intervals: [{ start_frame: 1 }], scores: [0.1, 0.7] })
})
