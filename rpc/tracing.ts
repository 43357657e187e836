/**
 * OpenTelemetry spans through Deno's built-in OpenTelemetry (`OTEL_DENO=true`): Deno installs the
 * tracer provider and the exporter, so this file only asks `@opentelemetry/api` for a tracer.
 * With OTel off the API module is never even imported and dispatch sees a null tracer, so the hot
 * path pays one null check.
 *
 * @module
 */

import type { Span, Tracer } from "@opentelemetry/api";
import type { Store } from "../store/mod.ts";

/** The tracer name spans carry. */
export const TRACER_NAME = "worknode";

/** What dispatch needs from tracing. */
export interface RpcTracer {
  /** Runs `fn` inside a new active span named `name`, ended when `fn` settles. */
  inSpan<T>(name: string, fn: (span: Span) => Promise<T>): Promise<T>;
}

/** Whether the environment turns Deno's OpenTelemetry on (`OTEL_DENO=true` or `1`). */
export function otelEnabled(env: (name: string) => string | undefined): boolean {
  const value = env("OTEL_DENO");
  return value === "true" || value === "1";
}

/**
 * The tracer when OpenTelemetry is on, else null (and `@opentelemetry/api` stays unloaded).
 *
 * @example
 * ```ts
 * const tracer = await loadTracer(otelEnabled((name) => Deno.env.get(name)));
 * ```
 */
export async function loadTracer(enabled: boolean): Promise<RpcTracer | null> {
  if (!enabled) return null;
  const api = await import("@opentelemetry/api");
  const tracer: Tracer = api.trace.getTracer(TRACER_NAME);
  return {
    inSpan<T>(name: string, fn: (span: Span) => Promise<T>): Promise<T> {
      return tracer.startActiveSpan(name, async (span) => {
        try {
          return await fn(span);
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: api.SpanStatusCode.ERROR });
          throw error;
        } finally {
          span.end();
        }
      });
    },
  };
}

/**
 * Wraps a store so each of its calls runs in a span `store.<method>` (a child of the dispatch
 * span, through the active context). With a null tracer the store itself is returned.
 *
 * @example
 * ```ts
 * const store = traceStore(await openStore("sqlite", { dataDir }), tracer);
 * ```
 */
export function traceStore(store: Store, tracer: RpcTracer | null): Store {
  if (tracer === null) return store;
  const span =
    <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => tracer.inSpan(`store.${name}`, () => fn.apply(store, args));
  return Object.freeze({
    kind: store.kind,
    create: span("create", store.create),
    get: span("get", store.get),
    update: span("update", store.update),
    delete: span("delete", store.delete),
    list: span("list", store.list),
    overlap: span("overlap", store.overlap),
    glue: span("glue", store.glue),
    ping: span("ping", store.ping),
    // Readiness asks for health on every /readyz: a span each would only be noise.
    health: () => store.health(),
    // Closing is not traced: it happens after the exporter may have been flushed.
    close: () => store.close(),
  });
}
