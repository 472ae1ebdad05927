import { afterEach, describe, expect, it } from 'vitest'
import { ApiError, setErrorTranslator } from './api.js'
import { createAppI18n, errorTranslator } from './i18n.js'

afterEach(() => setErrorTranslator(null))

describe('server errors in the UI language', () => {
  it('translate the stable code with its parameters, the rule of params.reason first', () => {
    const i18n = createAppI18n('zh-CN')
    setErrorTranslator(errorTranslator(i18n))
    expect(new ApiError(401, 'invalid-credentials', 'wrong username or password').message).toBe('用户名或密码错误')
    const weak = new ApiError(400, 'invalid-field', "field 'password' must be a string of 8-256 characters",
      { field: 'password', reason: 'password-length', min: 8, max: 256 })
    expect(weak.message).toBe('密码长度须为 8 到 256 个字符')
    expect(weak.serverMessage).toBe("field 'password' must be a string of 8-256 characters")
    expect(new ApiError(429, 'too-many-attempts', 'retry in 4 s', { seconds: 4 }).message).toBe('登录失败次数过多，请 4 秒后再试')
    i18n.global.locale.value = 'en'
    expect(new ApiError(400, 'not-a-video', "file 'x': bad", { name: 'x.mp4' }).message).toBe('The file "x.mp4" is not a decodable video')
  })

  it('keep the server message for a code the client does not know', () => {
    setErrorTranslator(errorTranslator(createAppI18n('zh-CN')))
    expect(new ApiError(409, 'made-up-code', "user 'a' exists already").message).toBe("user 'a' exists already")
    expect(new ApiError(400, 'x', 'plain', { reason: '../errors' }).message).toBe('plain')
  })
})
