// ECharts option builders for the score curves (pure functions, unit-tested).

const LINE_COLOR = '#409eff'
const THRESHOLD_COLOR = '#f56c6c'
const AREA_COLOR = 'rgba(245, 108, 108, 0.18)'
const PLAYHEAD_COLOR = '#303133'

/** Per-frame scores as [time_seconds, score] points (frame f at f / fps). */
export function scorePoints(scores, fps) {
  const rate = fps > 0 ? fps : 1
  return (scores || []).map((score, frame) => [frame / rate, score])
}

/**
 * Option for the offline result chart: score curve, threshold line, abnormal intervals shaded.
 * `labels` holds the translated axis/legend texts.
 */
export function scoreChartOption({ scores, fps, threshold, intervals, duration, labels }) {
  const points = scorePoints(scores, fps)
  const end = duration || (points.length ? points[points.length - 1][0] : 0)
  const markLineData = []
  if (Number.isFinite(threshold)) {
    markLineData.push({
      yAxis: threshold,
      name: labels.threshold,
      label: { position: 'insideEndTop', formatter: `${labels.threshold} {c}`, color: THRESHOLD_COLOR },
    })
  }
  return {
    animation: false,
    grid: { left: 44, right: 16, top: 24, bottom: 40 },
    tooltip: {
      trigger: 'axis',
      valueFormatter: (value) => (typeof value === 'number' ? value.toFixed(3) : value),
    },
    xAxis: {
      type: 'value',
      min: 0,
      max: end > 0 ? end : undefined,
      name: labels.time,
      nameLocation: 'middle',
      nameGap: 26,
      axisLabel: { formatter: (value) => `${Number(value.toFixed(1))}` },
    },
    yAxis: { type: 'value', min: 0, max: 1, name: labels.score, splitNumber: 4 },
    series: [
      {
        id: 'scores',
        name: labels.score,
        type: 'line',
        data: points,
        showSymbol: false,
        lineStyle: { width: 2, color: LINE_COLOR },
        itemStyle: { color: LINE_COLOR },
        areaStyle: { color: 'rgba(64, 158, 255, 0.08)' },
        markLine: {
          silent: true,
          symbol: 'none',
          lineStyle: { color: THRESHOLD_COLOR, type: 'dashed' },
          data: markLineData,
        },
        markArea: {
          silent: true,
          itemStyle: { color: AREA_COLOR },
          data: (intervals || []).map((interval) => [
            { xAxis: interval.start_time, name: interval.category || labels.abnormal },
            { xAxis: interval.end_time },
          ]),
        },
      },
      playheadSeries(0),
    ],
  }
}

/** The series that draws the playhead at `time` seconds (merged into the chart on every update). */
export function playheadSeries(time) {
  return {
    id: 'playhead',
    type: 'line',
    data: [],
    markLine: {
      silent: true,
      symbol: 'none',
      animation: false,
      label: { show: false },
      lineStyle: { color: PLAYHEAD_COLOR, width: 1.5, type: 'solid' },
      data: [{ xAxis: Number.isFinite(time) ? time : 0 }],
    },
  }
}

/** Append a live score point [x, score], dropping the oldest points beyond `maxPoints`. */
export function pushCapped(points, point, maxPoints) {
  points.push(point)
  if (points.length > maxPoints) points.splice(0, points.length - maxPoints)
  return points
}

/** A camera's stored history (`[epoch seconds, score or null]`, null = offline or stopped) as chart points. */
export function historyPoints(items) {
  return (items || []).map(([time, score]) => [time * 1000, Number.isFinite(score) ? score : null])
}

/**
 * The live chart's time axis: the last `windowSeconds` up to the newest point (or now), but not before the
 * first point (a young camera's chart fills the width); at least the last minute.
 */
export function liveTimeAxis(points, windowSeconds = 60) {
  const newest = points.length ? points[points.length - 1][0] : Date.now()
  const first = points.length ? points[0][0] : newest
  const min = Math.max(newest - windowSeconds * 1000, Math.min(first, newest - 60_000))
  return { type: 'time', splitNumber: 3, min, max: newest, axisLabel: { hideOverlap: true } }
}

/** Option for the live rolling chart; `points` are [epoch_ms, score]. */
export function liveChartOption({ points, threshold, labels, windowSeconds = 60 }) {
  return {
    animation: false,
    grid: { left: 44, right: 16, top: 24, bottom: 32 },
    tooltip: { trigger: 'axis', valueFormatter: (value) => (typeof value === 'number' ? value.toFixed(3) : value) },
    xAxis: liveTimeAxis(points, windowSeconds),
    yAxis: { type: 'value', min: 0, max: 1, name: labels.score, splitNumber: 4 },
    // No piecewise visualMap for the colour above the threshold: ECharts' line gradient throws
    // ("reading 'coord'") when every point falls in one piece, e.g. at threshold 0.
    series: [
      {
        id: 'live',
        name: labels.score,
        type: 'line',
        data: points,
        showSymbol: true,
        symbolSize: 4,
        lineStyle: { width: 2 },
        markLine: Number.isFinite(threshold)
          ? {
              silent: true,
              symbol: 'none',
              lineStyle: { color: THRESHOLD_COLOR, type: 'dashed' },
              label: { position: 'insideEndTop', color: THRESHOLD_COLOR },
              data: [{ yAxis: threshold }],
            }
          : undefined,
      },
    ],
  }
}

/** Scores and intervals of a record as a JSON document for download. */
export function scoresJson(record) {
  return JSON.stringify(
    {
      name: record.name,
      fps: record.fps,
      frames: record.frames,
      threshold: record.threshold,
      peak_score: record.peak_score,
      intervals: record.intervals || [],
      scores: record.scores || [],
    },
    null,
    2,
  )
}
