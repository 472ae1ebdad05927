import { describe, expect, it } from 'vitest'
import { messages } from './locales.js'

function keys(tree, prefix = '') {
  return Object.entries(tree).flatMap(([key, value]) => (typeof value === 'object' ? keys(value, `${prefix}${key}.`) : [`${prefix}${key}`]))
}

describe('UI strings', () => {
  it('has the same keys in Chinese and English', () => {
    expect(keys(messages['zh-CN']).sort()).toEqual(keys(messages.en).sort())
  })

  it('has no empty strings', () => {
    for (const locale of Object.keys(messages)) {
      for (const key of keys(messages[locale])) {
        const value = key.split('.').reduce((node, part) => node[part], messages[locale])
        expect(value, `${locale} ${key}`).not.toBe('')
      }
    }
  })
})
