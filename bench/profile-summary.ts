/**
 * Summarises V8 CPU profiles written by `npm run bench -- --profile <dir>`: for each file, the
 * functions with the most self time and the most inclusive time (time in the function and what it
 * called), so that "where does the time go" is answered without opening DevTools.
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile | dir> [top=25]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

import { ROOT } from './lib/processes.js'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

function nameOf(n: ProfileNode): string {
  const f = n.callFrame
  const url = f.url.startsWith('file://') ? relative(ROOT, f.url.slice('file://'.length)) : f.url
  return `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim()
}

export function summarise(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  const totalUs = profile.endTime - profile.startTime
  const idleUs = profile.nodes
    .filter((n) => n.callFrame.functionName === '(idle)')
    .reduce((sum, n) => sum + (selfUs.get(n.id) ?? 0), 0)

  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  // Inclusive time: walk from the root, counting each function once per stack.
  const walk = (id: number, onStack: Set<string>): number => {
    const n = byId.get(id)
    if (!n) {
      return 0
    }
    const name = nameOf(n)
    let sum = selfUs.get(id) ?? 0
    self.set(name, (self.get(name) ?? 0) + sum)
    const inner = new Set(onStack).add(name)
    for (const c of n.children ?? []) {
      sum += walk(c, inner)
    }
    if (!onStack.has(name)) {
      inclusive.set(name, (inclusive.get(name) ?? 0) + sum)
    }
    return sum
  }
  const root = profile.nodes[0]
  if (root) {
    walk(root.id, new Set())
  }
  const ms = (us: number): string => `${(us / 1000).toFixed(0).padStart(7)} ms`
  const list = (m: Map<string, number>): string[] =>
    [...m.entries()]
      .filter(([name]) => !/^\((root|idle|program)\)/.test(name))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([name, us]) => `  ${ms(us)}  ${((us / (totalUs - idleUs)) * 100).toFixed(1).padStart(5)}%  ${name}`,
      )
  return [
    `  profiled ${ms(totalUs)}, busy ${ms(totalUs - idleUs)}`,
    '  self time:',
    ...list(self),
    '  inclusive time:',
    ...list(inclusive),
  ].join('\n')
}

function main(): void {
  const target = process.argv[2]
  const top = Number(process.argv[3] ?? 25)
  if (!target) {
    process.stderr.write('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile | dir> [top]\n')
    process.exit(2)
  }
  const files = statSync(target).isDirectory()
    ? readdirSync(target)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(target, f))
    : [target]
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
    process.stdout.write(`${file}\n${summarise(profile, top)}\n\n`)
  }
}

main()
