import jsonata from 'jsonata'
import { batchBodies } from './lib/load.ts'
import { upsertUser } from '../packages/service/src/actions/upsert-user/upsert-user.ts'
import { buildPayload } from '../packages/service/src/actions/build-payload.ts'
const bodies = batchBodies('r', 0, 10000)
const events = bodies.flatMap((b) => (JSON.parse(b.toString()) as { batch: unknown[] }).batch)
const expr = jsonata("traits.name ? traits.name : $join([traits.first_name ? traits.first_name : traits.firstName, traits.last_name ? traits.last_name : traits.lastName], ' ')")
for (let rep = 0; rep < 4; rep++) {
  let t0 = performance.now()
  for (const e of events) await expr.evaluate(e)
  let t1 = performance.now()
  for (const e of events) await buildPayload((upsertUser as any).fields, undefined, e)
  let t2 = performance.now()
  console.log('jsonata', (t1 - t0).toFixed(1), 'buildPayload', (t2 - t1).toFixed(1))
}
