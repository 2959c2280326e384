// Thresholds shared by the detectors (TypeScript) and the SQL that pre-filters and aggregates for them
// (queries.ts): each number is written once, here. Reasons and sources: SCORING.md (score_version 2).

/** Inbound video showing fewer frames per second than this is stalled, even if stray packets arrived. */
export const STALL_FPS = 1

/**
 * The stream's last second: freezes counted there are teardown artefacts (the receiver reports the time
 * since its last frame when the call ends). Rows are ~1 s apart, so this covers only the last row.
 */
export const TEARDOWN_MS = 1500

/** Freeze/stall seconds at most this far apart are one episode. */
export const FREEZE_JOIN_MS = 2000

/** A freeze episode shorter than this (s) is a hiccup: all of a stream's hiccups are one issue. */
export const HICCUP_MAX_S = 1

/**
 * Bandwidth evidence: the sender's estimate (availableOutgoingBitrate) at most this multiple of what the
 * source needs (the target bitrate of its size at its rate), or loss / RTT growth as below.
 */
export const AVAILABLE_HEADROOM = 1.5
export const LIMIT_LOSS = 0.02
export const LIMIT_RTT_GROWTH_MS = 100

/** A sender's first seconds are its bandwidth estimator's start-up (libwebrtc starts at 300 kbps). */
export const LIMIT_STARTUP_MS = 5000

/**
 * After a second whose source delivered nothing, the encoder restarts from a key frame and the estimate
 * from its floor (a real 8 s pause: 125 kbps available at the restart). Back at full rate 3–5 s later on
 * an idle machine, later on a loaded one (a CI run raised a critical limitation after the 5 s window).
 */
export const LIMIT_RESTART_MS = 10_000

/** After a resolution or layer switch, the encoder's rate control settles for this many seconds. */
export const SWITCH_SETTLE_S = 2

/** A steady segment needs at least this many seconds to add to the bitrate CV. */
export const STEADY_MIN_S = 3

/**
 * Audio below this rate (bps) is silence or DTX, not speech: libwebrtc never configures Opus below 6 kbps
 * (kOpusMinBitrateBps), and Opus codes a silent 20 ms frame in 1–3 bytes (≈ 1.2 kbps).
 */
export const SILENT_AUDIO_BPS = 4000

/**
 * Audio level (webrtc-stats audioLevel, linear 0..1 of full scale) below which a second is silent:
 * 0.001 is −60 dBov. A muted track sends digital silence (level 0), which libwebrtc's Opus may still
 * code at a normal rate (13.7 kbps measured on @roamhq/wrtc), so the rate alone cannot tell.
 */
export const SILENT_AUDIO_LEVEL = 0.001
