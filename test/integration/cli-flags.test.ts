// The `rtcpulse` command line refuses every bad flag of every subcommand with one line on stderr and exit
// status 2, before doing anything: no stack trace, and no command that runs with a value it cannot use
// (`token --ttl abc` used to mint a token that expired on arrival; `--ttl -120` died with a stack trace).
// Runs the real CLI process (bin/rtcpulse.js) as a user would.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { verifyToken } from '../../collector/auth.ts'

const run = promisify(execFile)
const cli = new URL('../../bin/rtcpulse.js', import.meta.url).pathname
const SECRET = '0123456789abcdef0123456789abcdef'
const env = { ...process.env, RTCPULSE_KEYS: `k1:myapp:${SECRET}`, LOG_LEVEL: 'silent' }

interface Outcome {
  code: number
  stdout: string
  stderr: string
}

async function rtcpulse(args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env, timeout: 60_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

// [arguments, what the one line must say]
const BAD: [string[], RegExp][] = [
  [['token', '--app', 'myapp', '--ttl', '-120'], /--ttl must be a whole number from 1 to \d+ \(got "-120"\)/],
  [['token', '--app', 'myapp', '--ttl', 'abc'], /--ttl must be a whole number .*\(got "abc"\)/],
  [['token', '--app', 'myapp', '--ttl=0'], /--ttl must be a whole number/],
  [['token', '--app', 'myapp', '--ttl', '1.5'], /--ttl must be a whole number/],
  [['token', '--app', 'myapp', '--ttl'], /--ttl needs a value/],
  [['token', '--app', 'myapp', '--bogus'], /unknown option --bogus \(usage: rtcpulse token --app APP/],
  [['token', '--app', 'myapp', 'stray'], /unexpected argument "stray"/],
  [['token'], /--app is required/],
  [
    ['token', '--app', 'my app'],
    /--app must be 1-128 printable ASCII characters without spaces \(got "my app"\)/,
  ],
  [['token', '--app', 'myapp', '--session', 'x'.repeat(129)], /--session must be 1-128 printable ASCII/],
  [['token', '--app', 'myapp', '--session', ''], /--session needs a value/],
  [['token', '--app', 'other'], /no key in RTCPULSE_KEYS for app other/],
  [['token', '--app', 'myapp', '--help=yes'], /--help takes no value/],
  [['token', '--app', 'myapp', '--kid', 'k9'], /no key in RTCPULSE_KEYS for app myapp with kid k9/],
  [['start', '--port', 'abc'], /--port "abc" is invalid: expected an integer from 0 to 65535/],
  [['start', '--port', '-1'], /--port "-1" is invalid/],
  [['start', '--log-level', 'loud'], /--log-level "loud" is invalid: expected one of fatal/],
  [['start', '--clickhouse-url', 'ftp://x'], /--clickhouse-url "ftp:\/\/x" is invalid/],
  [['start', '--host'], /--host needs a value/],
  [['start', '--data-dir', ''], /--data-dir needs a value/],
  [['start', '--dev=yes'], /--dev takes no value/],
  [['start', '--bogus'], /unknown option --bogus/],
  [['delete', '--app', 'myapp'], /exactly one of --session ID or --user ID/],
  [['delete', '--app', 'myapp', '--session', 'a', '--user', 'b'], /exactly one of --session ID or --user ID/],
  [['delete', '--app', 'myapp', '--user', 'a b'], /--user must be 1-128 printable ASCII/],
  [['delete', '--app', 'myapp', '--session'], /--session needs a value/],
  [['analyze', '--fps', '-3', 'x.json'], /--fps needs a value/],
  [['analyze', '--fps', 'abc', 'x.json'], /--fps must be an integer from 1 to 240/],
  [['analyze', '--bogus', 'x.json'], /unknown option --bogus/],
  [['analyze'], /give exactly one dump file/],
]

describe('rtcpulse flags', () => {
  it('refuses each bad flag with one line and status 2', async () => {
    // Two processes at a time: each loads the whole server (chDB included) before parsing.
    const queue = [...BAD]
    const failures: string[] = []
    const worker = async (): Promise<void> => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        const [args, message] = item
        const out = await rtcpulse(args)
        const lines = out.stderr.trimEnd().split('\n')
        const label = `rtcpulse ${args.join(' ')} → ${out.code} ${JSON.stringify(out.stderr)}`
        if (out.code !== 2) failures.push(`${label}: status ${out.code}, not 2`)
        else if (lines.length !== 1) failures.push(`${label}: ${lines.length} lines`)
        else if (!lines[0]?.startsWith(`rtcpulse ${args[0]}: `)) failures.push(`${label}: no prefix`)
        else if (!message.test(lines[0])) failures.push(`${label}: does not match ${message}`)
        else if (out.stdout !== '' && args[0] !== 'analyze') failures.push(`${label}: printed ${out.stdout}`)
      }
    }
    await Promise.all([worker(), worker()])
    expect(failures).toEqual([])
  }, 240_000)

  it('prints the usage of token and delete with --help, status 0', async () => {
    for (const command of ['token', 'delete']) {
      const out = await rtcpulse([command, '--help'])
      expect(out.code).toBe(0)
      expect(out.stdout).toMatch(new RegExp(`^usage: rtcpulse ${command} --app APP`))
    }
  }, 60_000)

  it('mints a token that lives exactly --ttl seconds and verifies', async () => {
    const out = await rtcpulse(['token', '--app', 'myapp', '--session', 'call-42', '--ttl', '120'])
    expect(out.code).toBe(0)
    const token = out.stdout.trim()
    const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as {
      iat: number
      exp: number
      sess: string
    }
    expect(claims.exp - claims.iat).toBe(120)
    expect(claims.sess).toBe('call-42')
    const key = { kid: 'k1', app: 'myapp', secret: SECRET }
    const verdict = verifyToken(token, { app: 'myapp', session: 'call-42' }, { keys: [key], dev: false })
    expect(verdict.ok).toBe(true)
  }, 60_000)
})
