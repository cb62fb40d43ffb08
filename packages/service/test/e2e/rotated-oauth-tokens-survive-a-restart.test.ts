import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'

import { createEmulator, type Emulator } from '@zdd/zendesk-emulator'
import { afterEach, describe, expect, test } from 'vitest'

import { loadConfig, zendeskCredentials } from '../../src/config.js'
import type { Logger } from '../../src/delivery/worker.js'
import { systemClock } from '../../src/lib/clock.js'
import { startService, type RunningService } from '../../src/service.js'

const WRITE_KEY = 'test-write-key'
const REDIRECT_URI = 'http://127.0.0.1:9/cb'
const quietLog: Logger = { info: () => {}, warn: () => {}, error: () => {} }

// The destination as an operator writes it: the pair from the "Connect" flow, read from the
// environment. The pair stays the same across restarts, as a config file does.
const CONFIG_FILE = `
sources:
  - { id: web, writeKey: "${WRITE_KEY}", destinations: [support] }
destinations:
  - id: support
    zendesk:
      url: "\${ZENDESK_URL}"
      oauthTokens:
        clientId: sandbox-client
        clientSecret: "\${ZD_CLIENT_SECRET}"
        accessToken: "\${ZD_ACCESS_TOKEN}"
        refreshToken: "\${ZD_REFRESH_TOKEN}"
`

let emulator: Emulator | undefined
let service: RunningService | undefined
let dataDir: string | undefined

afterEach(async () => {
  await service?.stop()
  await emulator?.close()
  if (dataDir) {
    rmSync(dataDir, { recursive: true, force: true })
  }
  service = undefined
  emulator = undefined
  dataDir = undefined
})

/** An authorization-code grant, as the admin UI's "Connect" button would run it. */
async function authorize(url: string): Promise<{ access_token: string; refresh_token: string }> {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: 'sandbox-client',
    redirect_uri: REDIRECT_URI,
  })
  const approval = await fetch(`${url}/oauth/authorizations/new?${query.toString()}`, {
    redirect: 'manual',
  })
  expect(approval.status).toBe(302)
  const code = new URL(approval.headers.get('location') ?? '').searchParams.get('code')
  expect(code).toBeTruthy()
  const res = await fetch(`${url}/oauth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: 'sandbox-client',
      client_secret: 'sandbox-secret',
      code: code ?? '',
      redirect_uri: REDIRECT_URI,
    }),
  })
  expect(res.status).toBe(200)
  return (await res.json()) as { access_token: string; refresh_token: string }
}

/** Starts the service from the YAML text, as main.ts does (same credentials from the config). */
async function start(env: Record<string, string>): Promise<RunningService> {
  const config = loadConfig({ PORT: '0', DATA_DIR: dataDir!, ...env }, CONFIG_FILE)
  return startService(config, {
    clock: systemClock,
    logger: false,
    log: quietLog,
    resolveZendesk: (d) => {
      if (d.zendesk.mode !== 'remote') {
        throw new Error('expected a remote destination')
      }
      return Promise.resolve({
        baseUrl: d.zendesk.baseUrl,
        sellBaseUrl: d.zendesk.sellBaseUrl,
        credentials: zendeskCredentials(d.zendesk),
        sellToken: null,
      })
    },
    workerOptions: { batchWindowMs: 20, pollIntervalMs: 20 },
    zendeskTimeoutMs: 5000,
  })
}

async function identify(url: string, from: number, count: number): Promise<void> {
  const batch = Array.from({ length: count }, (_, k) => ({
    type: 'identify',
    userId: `u${from + k}`,
    traits: { email: `u${from + k}@example.com`, name: `User ${from + k}` },
  }))
  const res = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ batch }),
  })
  expect(await res.json()).toMatchObject({ success: true, accepted: count })
}

async function externalIds(url: string): Promise<string[]> {
  const state: any = await (await fetch(`${url}/__emulator/state`)).json()
  return state.users.flatMap((u: any) => (u.external_id ? [u.external_id as string] : [])).sort()
}

async function waitForUsers(url: string, n: number): Promise<string[]> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const ids = await externalIds(url)
    if (ids.length >= n || Date.now() > deadline) {
      return ids
    }
    await delay(25)
  }
}

async function tokenRequests(url: string, since = 0): Promise<{ seq: number; status: number }[]> {
  const log: any = await (await fetch(`${url}/__emulator/requests?path=/oauth/tokens&since=${since}`)).json()
  return log.requests
}

describe('an OAuth access and refresh token pair', () => {
  test('rotated pairs are kept in DATA_DIR: a restart with the original, revoked pair in the config still delivers', async () => {
    // Access tokens live one second, so that the service refreshes (and Zendesk rotates) soon.
    emulator = await createEmulator({ jobDelayMs: 20, accessTokenTtlS: 1 })
    dataDir = mkdtempSync(join(tmpdir(), 'zdd-e2e-'))
    const pair = await authorize(emulator.url)
    const env = {
      ZENDESK_URL: emulator.url,
      ZD_CLIENT_SECRET: 'sandbox-secret',
      ZD_ACCESS_TOKEN: pair.access_token,
      ZD_REFRESH_TOKEN: pair.refresh_token,
    }
    const grants = (await tokenRequests(emulator.url)).length

    // First run: the configured access token works until it expires; after that, the service
    // refreshes, and Zendesk revokes the configured pair.
    service = await start(env)
    await identify(service.url, 0, 5)
    expect(await waitForUsers(emulator.url, 5)).toHaveLength(5)
    await delay(1100)
    await identify(service.url, 5, 5)
    expect(await waitForUsers(emulator.url, 10)).toHaveLength(10)
    const firstRun = await tokenRequests(emulator.url)
    expect(firstRun.length).toBeGreaterThan(grants)
    expect(firstRun.every((r) => r.status === 200)).toBe(true)
    await service.stop()

    // The configured pair is now revoked: Zendesk refuses its refresh token.
    const replay = await fetch(`${emulator.url}/oauth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: 'sandbox-client',
        client_secret: 'sandbox-secret',
        refresh_token: pair.refresh_token,
      }),
    })
    expect(replay.status).toBe(400)
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' })
    const beforeRestart = (await tokenRequests(emulator.url)).at(-1)!.seq

    // Second run, same DATA_DIR, same configuration: it continues from the stored rotated pair.
    service = await start(env)
    await identify(service.url, 10, 5)
    await delay(1100)
    await identify(service.url, 15, 5)
    const ids = await waitForUsers(emulator.url, 20)
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => `u${i}`).sort())
    const secondRun = await tokenRequests(emulator.url, beforeRestart)
    // It refreshed with the stored refresh token, and never tried the revoked one.
    expect(secondRun.length).toBeGreaterThan(0)
    expect(secondRun.filter((r) => r.status !== 200)).toEqual([])
    expect(service.workers.get('support')?.pausedForAuth).toBe(false)
  })
})
