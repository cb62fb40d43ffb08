import { describe, expect, test } from 'vitest'

import { AppError } from '../errors.js'
import { DEFAULT_SELL_BASE_URL, sellBaseUrl, supportBaseUrl } from './base-url.js'

describe('supportBaseUrl', () => {
  test.each([
    { subdomain: 'acme', url: 'https://acme.zendesk.com' },
    { subdomain: 'Acme-Support', url: 'https://acme-support.zendesk.com' },
    { subdomain: ' acme2 ', url: 'https://acme2.zendesk.com' },
    { subdomain: 'a', url: 'https://a.zendesk.com' },
    { subdomain: 'x'.repeat(63), url: `https://${'x'.repeat(63)}.zendesk.com` },
  ])('builds $url from the subdomain "$subdomain"', ({ subdomain, url }) => {
    expect(supportBaseUrl({ subdomain })).toBe(url)
  })

  test.each([
    '',
    'acme.zendesk.com',
    'https://acme.zendesk.com',
    '-acme',
    'acme-',
    'ac_me',
    'ac me',
    'x'.repeat(64),
    'acme/evil',
  ])('refuses the subdomain %j as invalid configuration naming the field', (subdomain) => {
    const err = catchError(() => supportBaseUrl({ subdomain }))
    expect(err).toBeInstanceOf(AppError)
    expect(err).toMatchObject({ kind: 'invalid_config', code: 'ZD_INVALID_SUBDOMAIN', field: 'subdomain' })
    expect(err.message).toMatch(/^subdomain: /)
  })

  test.each([
    { url: 'http://127.0.0.1:4010', expected: 'http://127.0.0.1:4010' },
    { url: 'http://127.0.0.1:4010/', expected: 'http://127.0.0.1:4010' },
    { url: 'https://zd.example.com/prefix/', expected: 'https://zd.example.com/prefix' },
  ])('takes the explicit URL $url as $expected', ({ url, expected }) => {
    expect(supportBaseUrl({ url })).toBe(expected)
  })

  test.each(['not a url', 'ftp://example.com', 'http://user:secret@example.com', 'http://x.test/?a=1'])(
    'refuses the explicit URL %j without repeating it in the message',
    (url) => {
      const err = catchError(() => supportBaseUrl({ url }))
      expect(err).toMatchObject({ kind: 'invalid_config', code: 'ZD_INVALID_BASE_URL', field: 'url' })
      expect(err.message).not.toContain('secret')
    },
  )
})

describe('sellBaseUrl', () => {
  test('is Zendesk Sell by default', () => {
    expect(sellBaseUrl()).toBe(DEFAULT_SELL_BASE_URL)
    expect(sellBaseUrl({ url: null })).toBe('https://api.getbase.com')
  })

  test('is the explicit URL when given (the emulator serves Sell under /v2 of its own URL)', () => {
    expect(sellBaseUrl({ url: 'http://127.0.0.1:4010/' })).toBe('http://127.0.0.1:4010')
  })

  test('refuses a bad explicit URL naming the field', () => {
    expect(catchError(() => sellBaseUrl({ url: 'mailto:x@y.z' }))).toMatchObject({
      code: 'ZD_INVALID_BASE_URL',
      field: 'sellUrl',
    })
  })
})

function catchError(fn: () => unknown): AppError {
  try {
    fn()
  } catch (err) {
    if (err instanceof AppError) {
      return err
    }
    throw err
  }
  throw new Error('expected an error')
}
