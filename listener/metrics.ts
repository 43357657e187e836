/**
 * The listeners' counters in Prometheus text: open connections, and the connections refused at
 * the cap, evicted to make room, failed TLS handshakes and accept errors (EMFILE) survived.
 *
 * @module
 */

/** What a listener reports (the TCP listener and the HTTP/3 server's table both do). */
export interface ListenerCounters {
  readonly connectionCount: number;
  readonly refusedCount: number;
  readonly evictedCount: number;
  readonly acceptErrorCount: number;
  readonly handshakeFailureCount: number;
}

const FAMILIES = [
  ["listener_connections", "gauge", "Connections open now", "connectionCount"],
  ["listener_refused_total", "counter", "Connections closed at the cap, none idle", "refusedCount"],
  ["listener_evicted_total", "counter", "Idle connections closed to make room", "evictedCount"],
  [
    "listener_accept_errors_total",
    "counter",
    "Accept failures survived (no file descriptor left)",
    "acceptErrorCount",
  ],
  [
    "listener_handshake_failures_total",
    "counter",
    "TLS handshakes that failed or timed out",
    "handshakeFailureCount",
  ],
] as const;

/**
 * The counters of named listeners.
 *
 * @example
 * ```ts
 * const text = renderListenerMetrics([["tls", tlsListener], ["plaintext", plainListener]]);
 * ```
 */
export function renderListenerMetrics(
  listeners: readonly (readonly [string, ListenerCounters])[],
): string {
  let text = "";
  for (const [name, type, help, field] of FAMILIES) {
    text += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
    for (const [listener, counters] of listeners) {
      text += `${name}{listener="${listener}"} ${counters[field]}\n`;
    }
  }
  return text;
}
