import { describe, expect, it } from 'vitest'
import { downloadStem, formatDateTime, formatDuration, formatScore, formatSeconds, isActive, percent, statusTagType } from './format.js'

describe('format helpers', () => {
  it('formats durations as m:ss and h:mm:ss, unknown as a dash', () => {
    expect(formatDuration(0)).toBe('0:00')
    expect(formatDuration(18)).toBe('0:18')
    expect(formatDuration(61.6)).toBe('1:02')
    expect(formatDuration(3725)).toBe('1:02:05')
    expect(formatDuration(null)).toBe('—')
    expect(formatDuration(Number.NaN)).toBe('—')
    expect(formatDuration(-1)).toBe('—')
  })

  it('formats scores and seconds', () => {
    expect(formatScore(0.49838)).toBe('0.498')
    expect(formatScore(1)).toBe('1.000')
    expect(formatScore(undefined)).toBe('—')
    expect(formatSeconds(3.25)).toBe('3.3 s')
    expect(formatSeconds(null)).toBe('—')
  })

  it('formats timestamps and rejects invalid ones', () => {
    expect(formatDateTime('2026-11-21T10:04:30Z', 'en')).toMatch(/2026/)
    expect(formatDateTime('not a date')).toBe('—')
    expect(formatDateTime(null)).toBe('—')
  })

  it('maps statuses and states to tag types and activity', () => {
    expect(statusTagType('done')).toBe('success')
    expect(statusTagType('running')).toBe('success')
    expect(statusTagType('processing')).toBe('warning')
    expect(statusTagType('failed')).toBe('danger')
    expect(statusTagType('queued')).toBe('info')
    expect(statusTagType('stopped')).toBe('info')
    expect(isActive('queued')).toBe(true)
    expect(isActive('reconnecting')).toBe(true)
    expect(isActive('done')).toBe(false)
    expect(isActive('stopped')).toBe(false)
  })

  it('clamps progress to whole percentages', () => {
    expect(percent(0.456)).toBe(46)
    expect(percent(1.5)).toBe(100)
    expect(percent(-0.2)).toBe(0)
    expect(percent(undefined)).toBe(0)
  })

  it('makes download names from video names', () => {
    expect(downloadStem('Test001.mp4')).toBe('Test001')
    expect(downloadStem('a b/c?.avi')).toBe('a b_c_')
    expect(downloadStem('监控 录像.mp4')).toBe('监控 录像')
    expect(downloadStem('pal clip.mp4')).toBe('pal clip')
    expect(downloadStem('')).toBe('video')
  })
})
