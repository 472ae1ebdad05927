import { describe, expect, it } from 'vitest'
import { causesOf, profileTagType, validCalibrateMinutes } from './profile.js'

describe('scene calibration helpers', () => {
  it('accepts 0.25 to 240 minutes, and 0 only where learning is optional', () => {
    expect(validCalibrateMinutes(5)).toBe(true)
    expect(validCalibrateMinutes(0.25)).toBe(true)
    expect(validCalibrateMinutes(240)).toBe(true)
    expect(validCalibrateMinutes(0.2)).toBe(false)
    expect(validCalibrateMinutes(240.5)).toBe(false)
    expect(validCalibrateMinutes(0)).toBe(false)
    expect(validCalibrateMinutes(0, { allowZero: true })).toBe(true)
    expect(validCalibrateMinutes(null, { allowZero: true })).toBe(false)
    expect(validCalibrateMinutes('5')).toBe(false)
    expect(validCalibrateMinutes(Number.NaN)).toBe(false)
  })

  it('colours the profile states', () => {
    expect(profileTagType('calibrated')).toBe('success')
    expect(profileTagType('learning')).toBe('warning')
    expect(profileTagType('uncalibrated')).toBe('info')
    expect(profileTagType(undefined)).toBe('info')
  })

  it('reads the causes of an interval or an alert', () => {
    const cause = { cue: 'motion', label: 'fast motion', z: 3 }
    expect(causesOf({ causes: [cause, null] })).toEqual([cause])
    expect(causesOf({})).toEqual([])
    expect(causesOf(null)).toEqual([])
  })
})
