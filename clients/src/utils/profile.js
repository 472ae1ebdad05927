// Scene calibration: the minutes a camera may learn its scene from, and the profile tag's look.

export const MIN_CALIBRATE_MINUTES = 0.25 // the server needs at least 15 s of normal footage
export const MAX_CALIBRATE_MINUTES = 240
export const DEFAULT_CALIBRATE_MINUTES = 5

/** Whether `value` is a number of minutes to learn from: 0.25..240, or also 0 (= do not learn) with `allowZero`. */
export function validCalibrateMinutes(value, { allowZero = false } = {}) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false
  if (value === 0) return allowZero
  return value >= MIN_CALIBRATE_MINUTES && value <= MAX_CALIBRATE_MINUTES
}

/** Element Plus tag type for a profile state (uncalibrated, learning, calibrated). */
export function profileTagType(state) {
  switch (state) {
    case 'calibrated':
      return 'success'
    case 'learning':
      return 'warning'
    default:
      return 'info'
  }
}

/** The causes of an interval or an alert as a list (strongest first, as the server sends them). */
export function causesOf(item) {
  return Array.isArray(item?.causes) ? item.causes.filter((cause) => cause && typeof cause === 'object') : []
}
