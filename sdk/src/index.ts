// Public entry of the SDK (ESM build, and the IIFE's global `rtcpulse`). Zero runtime dependencies.
export { createMonitor, sampled, SDK_VERSION } from './monitor.ts'
export type { Monitor, MonitorError, MonitorOptions, PcHandle } from './monitor.ts'
export type { WebSocketCtor } from './transport.ts'
export type * from '../../core/protocol.ts'
