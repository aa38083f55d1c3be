// OpenTelemetry: trace context travels in Kafka record headers (W3C traceparent), injected by
// producers and extracted by consumers, so one trace follows a snapshot from station to database.
// Export is on only when an OTLP endpoint is configured.
import { type Context, context, propagation, type Tracer, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export function startTracing(otlpEndpoint: string | null, serviceName = 'voiceloop'): () => Promise<void> {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: otlpEndpoint
      ? [
          new BatchSpanProcessor(
            new OTLPTraceExporter({ url: `${otlpEndpoint.replace(/\/$/, '')}/v1/traces` }),
          ),
        ]
      : [],
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
  return propagation.extract(context.active(), carrier);
}
