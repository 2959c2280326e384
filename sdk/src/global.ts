// Entry of the <script> build (dist/rtcpulse.min.js): exposes createMonitor as the global `rtcpulse`.
import { createMonitor } from './monitor.ts'

;(globalThis as { rtcpulse?: unknown }).rtcpulse = { createMonitor }
