/** Masks a secret for logs and API responses: never more than its last 4 characters. */
export function redact(secret: string | null | undefined): string | null {
  if (secret === null || secret === undefined || secret === '') {
    return null
  }
  return secret.length <= 8 ? '****' : `****${secret.slice(-4)}`
}
