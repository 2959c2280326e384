// Placeholder until the analyzer lands (issue 4): `rtcpulse analyze` reports that it is unavailable.
export function analyzeCommand(_args: string[]): Promise<void> {
  return Promise.reject(new Error('rtcpulse analyze is not available yet'))
}
