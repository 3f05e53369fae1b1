/**
 * Process-wide telemetry state, kept on globalThis so that two copies of this library (src under
 * Jest, dist at runtime, a duplicated node_modules) still agree that telemetry is started once.
 */
export interface TelemetryState {
  serviceName: string;
}

const STATE_KEY = Symbol.for('palisade.telemetry.state');

export function telemetryState(): { current?: TelemetryState } {
  const g = globalThis as unknown as Record<symbol, { current?: TelemetryState } | undefined>;
  let s = g[STATE_KEY];
  if (!s) {
    s = {};
    g[STATE_KEY] = s;
  }
  return s;
}

/** service.name given to startTelemetry, if it is running (the JSON logger's default service). */
export function telemetryServiceName(): string | undefined {
  return telemetryState().current?.serviceName;
}
