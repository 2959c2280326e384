// Thresholds shared by the detectors (TypeScript) and the SQL that pre-filters and aggregates for them
// (queries.ts): each number is written once, here. Reasons and sources: SCORING.md §2 and §6.

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

// The issue rules of SCORING.md §6, used by the detectors (detect-*.ts) and by the SQL that pre-filters
// the streams and seconds they read (queries.ts). A prefilter weaker than its detector would hide issues;
// test/integration/analyzer-prefilter.test.ts holds the two to the same answer on random streams.

/** Persistence (DESIGN.md "3 of 5"): a condition must hold in PERSIST_HITS of PERSIST_SECONDS consecutive seconds. */
export const PERSIST_HITS = 3
export const PERSIST_SECONDS = 5

/** high_rtt: candidate-pair RTT above this (ms); critical when the episode's mean reaches CRITICAL_RTT_MS. */
export const HIGH_RTT_MS = 400
export const CRITICAL_RTT_MS = 1000

/** high_jitter (audio): interarrival jitter above this (ms); critical when the mean exceeds CRITICAL_JITTER_MS. */
export const HIGH_JITTER_MS = 30
export const CRITICAL_JITTER_MS = 100

/** packet_loss: loss ratio above this; critical when the mean exceeds CRITICAL_LOSS. */
export const LOSS = 0.01
export const CRITICAL_LOSS = 0.05

/** low_mos: per-second MOS below this; critical when the mean is below CRITICAL_MOS. */
export const LOW_MOS = 3.5
export const CRITICAL_MOS = 2.5

/**
 * A second whose MOS can fall below LOW_MOS: loss or concealment above MOS_RISK_LOSS, jitter above
 * HIGH_JITTER_MS, or the E-model's one-way delay d (20 ms + jitter buffer + RTT/2, score.ts) above
 * MOS_RISK_DELAY_MS. At d = 170 ms and 1% loss the worst codec at LOW_CODEC_RATE_BPS still scores
 * MOS 3.60 (unit-tested), so a stream without such seconds needs no series read.
 */
export const MOS_RISK_LOSS = 0.01
export const MOS_RISK_DELAY_MS = 170

/** Below this codec rate (bps) Opus's Ie alone can push the MOS under LOW_MOS: all such seconds are read. */
export const LOW_CODEC_RATE_BPS = 10_000

/** keyframe_storm: at least STORM_KEYFRAMES key frames within STORM_WINDOW_MS, after STORM_STARTUP_MS. */
export const STORM_KEYFRAMES = 5
export const CRITICAL_STORM_KEYFRAMES = 10
export const STORM_WINDOW_MS = 10_000
export const STORM_STARTUP_MS = 5000

/** no_inbound_media: every inbound stream of a pc without packets for at least this many seconds. */
export const NO_MEDIA_S = 5
