/**
 * Test helpers for the OpenTelemetry tests: a tracer provider with an
 * in-memory exporter, and a wait for the server span of one request.
 */
import { SpanKind, trace } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { createRequire } from 'node:module'

/** A global tracer provider that keeps every finished span in memory. */
export const memoryTracing = () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  trace.setGlobalTracerProvider(provider)
  return { exporter, provider }
}

/**
 * The instrumentation patches `http`/`https` when they are `require`d after
 * it is enabled (its ESM hook needs a loader flag); their Server prototypes
 * are shared with the ESM imports, so requiring them here is enough.
 */
export const loadPatchedHttp = () => {
  const require = createRequire(import.meta.url)
  require('node:http')
  require('node:https')
}

/**
 * The finished server span of the request to `path`. A span ends when the
 * response closes, which may be just after the client has read it: wait
 * for it (bounded at about 10 s for a loaded machine; not a timing assertion).
 */
export const serverSpan = async (exporter: InMemorySpanExporter, path: string): Promise<ReadableSpan> => {
  for (let i = 0; i < 2000; i++) {
    // (`http.target` on instrumentation versions that emit the old names)
    const span = exporter.getFinishedSpans().find(s =>
      s.kind === SpanKind.SERVER && (s.attributes['url.path'] ?? s.attributes['http.target']) === path)
    if (span !== undefined) return span
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  throw new Error(`no server span for ${path}`)
}
