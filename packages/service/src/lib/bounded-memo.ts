/**
 * A function's results remembered by key, for values derived from configuration (mapping paths,
 * templates, trait names): the same few keys come with every event, so each is computed once. The
 * memory is bounded: past `limit` keys it starts again empty (never reached with configured keys;
 * a bound all the same, since trait names come from events). A computation that throws is not
 * remembered. One lookup per call on the hot path: `compute` never returns undefined.
 */
export function boundedMemo<K, V extends NonNullable<unknown>>(
  compute: (key: K) => V,
  limit = 10_000,
): (key: K) => V {
  const known = new Map<K, V>()
  return (key) => {
    const remembered = known.get(key)
    if (remembered !== undefined) {
      return remembered
    }
    const value = compute(key)
    if (known.size >= limit) {
      known.clear()
    }
    known.set(key, value)
    return value
  }
}
