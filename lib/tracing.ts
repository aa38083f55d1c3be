// OpenTelemetry: trace context travels in Kafka record headers (W3C traceparent), injected by
// producers and extracted by consumers, so one trace follows a snapshot from the station through the
// persister and the online decision to the change, the outbox relay and the agent applying it. The
// change path stores its span's traceparent on the outbox row (the relay publishes after the commit,
// in another process maybe), and the relay continues the trace from there.
// Export is on only when an OTLP endpoint is configured; without a registered provider the API's
// spans are no-ops, and context still propagates through the headers that are already there.
import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export type { Context, Span };
export { SpanKind };

/**
 * Registers the process's tracer provider (W3C trace-context propagator, async-local context).
 * `otlpEndpoint` set: spans are exported over OTLP/HTTP to `<endpoint>/v1/traces`. `processors`
 * adds others (a test's in-memory exporter).
 */
export function startTracing(
  otlpEndpoint: string | null,
  serviceName = 'voiceloop',
  processors: SpanProcessor[] = [],
): () => Promise<void> {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [
      ...(otlpEndpoint
        ? [
            new BatchSpanProcessor(
              new OTLPTraceExporter({ url: `${otlpEndpoint.replace(/\/$/, '')}/v1/traces` }),
            ),
          ]
        : []),
      ...processors,
    ],
  });
  provider.register();
  return () => provider.shutdown();
}

export function tracer(): Tracer {
  return trace.getTracer('voiceloop');
}

export function injectTrace(
  headers: Record<string, string>,
  ctx: Context = context.active(),
): Record<string, string> {
  propagation.inject(ctx, headers);
  return headers;
}

export function extractTrace(
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined,
): Context {
  const carrier: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const one = Array.isArray(v) ? v[0] : v;
    if (one !== undefined) carrier[k] = one.toString();
  }
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** The W3C traceparent of a context (to store beside a row), or null when it carries no span. */
export function traceparentOf(ctx: Context = context.active()): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent ?? null;
}

/** The context a stored traceparent names (the root context for null). */
export function contextOf(traceparent: string | null | undefined): Context {
  return traceparent ? extractTrace({ traceparent }) : ROOT_CONTEXT;
}

export interface SpanOptions {
  kind?: SpanKind;
  /** Parent context (default: the active one). */
  parent?: Context;
  attributes?: Attributes;
  links?: Link[];
}

/** Starts a span that the caller ends (for spans around work that is not one function call). */
export function startSpan(name: string, o: SpanOptions = {}): Span {
  return tracer().startSpan(
    name,
    {
      kind: o.kind ?? SpanKind.INTERNAL,
      ...(o.attributes ? { attributes: o.attributes } : {}),
      ...(o.links ? { links: o.links } : {}),
    },
    o.parent ?? context.active(),
  );
}

/** The context in which `span` is the active span (a child's parent, for spans not made by withSpan). */
export function contextOfSpan(span: Span, parent: Context = context.active()): Context {
  return trace.setSpan(parent, span);
}

/** Ends a span, marking it failed when `err` is given. */
export function endSpan(span: Span, err?: unknown): void {
  if (err !== undefined) {
    span.recordException(err instanceof Error ? err : new Error(String(err)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message ?? String(err) });
  }
  span.end();
}

/** Runs `fn` inside a new active span; a throw marks the span failed and is rethrown. */
export async function withSpan<T>(name: string, o: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const span = startSpan(name, o);
  const ctx = trace.setSpan(o.parent ?? context.active(), span);
  try {
    const out = await context.with(ctx, () => fn(span));
    endSpan(span);
    return out;
  } catch (err) {
    endSpan(span, err);
    throw err;
  }
}
