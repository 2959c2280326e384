// A STAND-IN for a ClickHouse server: the subset of the ClickHouse HTTP interface that @clickhouse/client
// uses (ping, queries with `param_*` parameters, commands, JSONEachRow inserts, `database`), answered
// by chDB in this process. It exists so CI exercises the real @clickhouse/client code path without a
// ClickHouse server (Debian's is from 2018 and too old). It is not a ClickHouse server: when
// CLICKHOUSE_URL is set, the store suite runs against that real server as well.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Session } from 'chdb'

export interface StandIn {
  url: string
  /** Makes every request fail with a connection reset until `up()` (simulates an outage). */
  down(): void
  up(): void
  close(): Promise<void>
}

// A ClickHouse server reads `param_*` values in its escaped text format (backslash escapes), which is
// how @clickhouse/client sends them; chDB binds raw values, so undo the escaping here.
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '0': '\0' }
const unescapeParam = (v: string): string => v.replace(/\\(.)/g, (_m, c: string) => ESCAPES[c] ?? c)

/** Starts the stand-in on 127.0.0.1:0 over chDB data in `dataDir`. */
export async function startClickHouseStandIn(dataDir: string): Promise<StandIn> {
  const session = new Session(dataDir)
  let isDown = false
  // chDB sessions keep a current database; serialise requests so each runs in its own.
  let chain: Promise<unknown> = Promise.resolve()

  const server = createServer((req, res) => {
    if (isDown) {
      req.socket.destroy()
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      if (url.pathname === '/ping') {
        res.end('Ok.\n')
        return
      }
      const body = Buffer.concat(chunks).toString('utf8')
      const inUrl = url.searchParams.get('query')
      const sql = inUrl ? `${inUrl}\n${body}` : body
      const params: Record<string, string> = {}
      for (const [k, v] of url.searchParams) if (k.startsWith('param_')) params[k.slice(6)] = unescapeParam(v)
      const database = url.searchParams.get('database') ?? 'default'
      const insert = inUrl ? /^INSERT INTO (\S+)(?: \(([^)]*)\))? FORMAT (\w+)\s*$/i.exec(inUrl) : null
      const run = chain.then(async () => {
        await session.queryAsync(`USE ${database.replace(/[^\w]/g, '')}`)
        if (insert) {
          await session.insert({
            table: insert[1] as string,
            values: Buffer.from(body),
            format: insert[3] as 'JSONEachRow',
            ...(insert[2] ? { columns: insert[2].split(',').map((c) => c.trim()) } : {}),
          })
          return { text: () => '' }
        }
        return Object.keys(params).length
          ? session.queryBindAsync(sql, params, { format: 'JSONEachRow' })
          : session.queryAsync(sql, { format: 'JSONEachRow' })
      })
      chain = run.catch(() => {})
      run.then(
        (r) => {
          res.setHeader('X-ClickHouse-Summary', JSON.stringify({ written_rows: '0' }))
          res.setHeader('X-ClickHouse-Format', 'JSONEachRow')
          res.end(r.text())
        },
        (err: unknown) => {
          const e = err as { clickhouseCode?: number; message?: string }
          res.statusCode = 500
          res.setHeader('X-ClickHouse-Exception-Code', String(e.clickhouseCode ?? 1000))
          res.end(e.message ?? String(err))
        },
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    down: () => (isDown = true),
    up: () => (isDown = false),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => {
          session.close()
          resolve()
        })
      }),
  }
}
