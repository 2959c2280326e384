// Coarse browser and OS names from a User-Agent string, for grouping sessions (not for security).
export interface UserAgentInfo {
  browser: string
  os: string
}

const BROWSERS: ReadonlyArray<[RegExp, string]> = [
  [/Edg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/OPR\/(\d+)/, 'Opera'],
  [/Firefox\/(\d+)/, 'Firefox'],
  [/(?:Chrome|CriOS|HeadlessChrome)\/(\d+)/, 'Chrome'],
  [/Version\/(\d+)[\d.]* .*Safari\//, 'Safari'],
  [/Node\.js\/v?(\d+)/, 'Node'],
]
const SYSTEMS: ReadonlyArray<[RegExp, string]> = [
  [/Android/, 'Android'],
  [/iPhone|iPad|iPod/, 'iOS'],
  [/Windows/, 'Windows'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/CrOS/, 'ChromeOS'],
  [/Linux|linux/, 'Linux'],
]

/** Returns e.g. `{ browser: 'Chrome 131', os: 'Linux' }`; unknown parts are ''. Never throws. */
export function parseUserAgent(ua: string): UserAgentInfo {
  let browser = ''
  for (const [re, name] of BROWSERS) {
    const m = re.exec(ua)
    if (m) {
      browser = `${name} ${m[1]}`
      break
    }
  }
  const os = SYSTEMS.find(([re]) => re.test(ua))?.[1] ?? ''
  return { browser, os }
}
