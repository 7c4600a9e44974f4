/** Reading Prometheus exposition text in tests: series → value, and scraping an endpoint. */

/** `name{a="x",b="y"}` → value, for every sample line (comments skipped). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** The value of one series (0 when absent: counters appear at their first increment). */
export function sample(metrics: Map<string, number>, series: string): number {
  return metrics.get(series) ?? 0;
}

export async function scrape(address: string): Promise<Map<string, number>> {
  const res = await fetch(`http://${address}/metrics`);
  if (!res.ok) throw new Error(`GET http://${address}/metrics: ${res.status}`);
  return parseMetrics(await res.text());
}
