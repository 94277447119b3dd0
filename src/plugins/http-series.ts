import type { Metric, Registry } from 'prom-client'

/** One method × route × status: a count, a sum and per-bucket counts (not yet cumulative). */
interface Series { labels: Record<string, string>, count: number, sum: number, buckets: number[] }

/** What the registry reads of a metric at scrape time (prom-client's `metric.get()`). */
interface MetricValue { labels: Record<string, string | number>, value: number, metricName?: string }

/**
 * `http_requests_total` and `http_request_duration_seconds`, counted in plain numbers on the request
 * path and turned into the exposition format only when scraped. prom-client's own Counter and
 * Histogram build and hash a label object per call: ~7 µs a request on a loaded machine, the
 * largest cost of a refused request after the socket write (profiled: docs/BENCHMARKS.md). Both
 * are registered in the app's prom-client registry, so /metrics shows them like any other metric.
 */
export class HttpSeries {
  readonly #series = new Map<string, Series>()
  readonly #bounds: readonly number[]

  constructor (registry: Registry, bounds: readonly number[]) {
    this.#bounds = bounds
    registry.registerMetric(this.#metric('http_requests_total', 'HTTP requests by method, route and status', 'counter',
      (series) => [{ labels: series.labels, value: series.count }]))
    registry.registerMetric(this.#metric('http_request_duration_seconds', 'HTTP request duration by method, route and status', 'histogram',
      (series) => this.#histogram(series)))
  }

  record (method: string, route: string, statusCode: number, seconds: number): void {
    const key = `${method} ${statusCode} ${route}`
    let series = this.#series.get(key)
    if (series === undefined) {
      series = { labels: { method, route, status_code: String(statusCode) }, count: 0, sum: 0, buckets: this.#bounds.map(() => 0) }
      this.#series.set(key, series)
    }
    series.count++
    if (Number.isFinite(seconds)) series.sum += seconds
    const bucket = this.#bounds.findIndex((bound) => seconds <= bound)
    if (bucket !== -1) series.buckets[bucket]!++
  }

  #histogram (series: Series): MetricValue[] {
    const name = 'http_request_duration_seconds'
    let cumulative = 0
    const values: MetricValue[] = this.#bounds.map((le, i) => {
      cumulative += series.buckets[i]!
      return { labels: { le, ...series.labels }, value: cumulative, metricName: `${name}_bucket` }
    })
    values.push(
      { labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: `${name}_bucket` },
      { labels: series.labels, value: series.sum, metricName: `${name}_sum` },
      { labels: series.labels, value: series.count, metricName: `${name}_count` })
    return values
  }

  /** An object the registry takes for a metric: name, help, type and a get() (prom-client's Metric). */
  #metric (name: string, help: string, type: 'counter' | 'histogram', values: (series: Series) => MetricValue[]): Metric {
    const get = async (): Promise<object> => ({ name, help, type, aggregator: 'sum', values: [...this.#series.values()].flatMap(values) })
    return { name, help, type, aggregator: 'sum', get, reset: () => this.#series.clear() } as unknown as Metric
  }
}
