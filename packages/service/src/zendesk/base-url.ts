/**
 * Base URLs of the two Zendesk APIs (facts §1.1, §10):
 * - Support: `https://{subdomain}.zendesk.com` (the client adds `/api/v2/...`);
 * - Sell: `https://api.getbase.com` (the client adds `/v2/...`).
 * Both accept an explicit URL instead, which is how the service reaches the emulator.
 */
import { AppError, ERROR_KINDS } from '../errors.js'

export const DEFAULT_SELL_BASE_URL = 'https://api.getbase.com'

/**
 * Zendesk does not document subdomain rules; we assume a DNS label: letters, digits and inner
 * hyphens, at most 63 characters (facts §1.1, unverified).
 */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

export type SupportBaseUrlInput = { subdomain: string } | { url: string }

/** The Support API origin for a subdomain, or the explicit URL (normalised, no trailing slash). */
export function supportBaseUrl(input: SupportBaseUrlInput): string {
  if ('url' in input) {
    return explicitUrl(input.url, 'url')
  }
  const subdomain = input.subdomain.trim().toLowerCase()
  if (!DNS_LABEL.test(subdomain)) {
    throw new AppError(
      ERROR_KINDS.invalidConfig,
      'ZD_INVALID_SUBDOMAIN',
      `subdomain: "${input.subdomain}" is not a Zendesk subdomain; give only the first part of ` +
        `https://{subdomain}.zendesk.com (letters, digits and hyphens)`,
      { field: 'subdomain' },
    )
  }
  return `https://${subdomain}.zendesk.com`
}

/** The Sell API origin: Zendesk's by default, or the explicit URL (the emulator serves `/v2` too). */
export function sellBaseUrl(input: { url?: string | null } = {}): string {
  if (input.url === undefined || input.url === null || input.url === '') {
    return DEFAULT_SELL_BASE_URL
  }
  return explicitUrl(input.url, 'sellUrl')
}

function explicitUrl(raw: string, field: string): string {
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    throw invalidUrl(field, 'is not a URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidUrl(field, 'must start with http:// or https://')
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw invalidUrl(field, 'must not carry credentials, a query or a fragment')
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

/** The value itself is left out of the message: a URL with user:password@ would leak into logs. */
function invalidUrl(field: string, reason: string): AppError {
  return new AppError(ERROR_KINDS.invalidConfig, 'ZD_INVALID_BASE_URL', `${field}: ${reason}`, { field })
}
