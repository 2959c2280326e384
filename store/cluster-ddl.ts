// The migrations rewritten for a ClickHouse cluster (CLICKHOUSE_CLUSTER): one schema, two placements.
// Each MergeTree-family table `t` becomes a replicated `t_local` on every host and a Distributed `t` in
// front of it, sharded by a hash of (app, session) so a session's rows, and every row FINAL must collapse,
// live on one shard; materialized views fire on the local tables and write to local tables; every DDL
// statement runs ON CLUSTER. This is a small parser of the statement forms the project's own migrations
// use (CREATE TABLE … ENGINE, ALTER TABLE, CREATE MATERIALIZED VIEW … TO, INSERT … SELECT); any other
// form throws, so a new migration the transform cannot place fails its test rather than a deployment.
// https://clickhouse.com/docs/en/engines/table-engines/mergetree-family/replication
// https://clickhouse.com/docs/en/engines/table-engines/special/distributed
// https://clickhouse.com/docs/en/sql-reference/distributed-ddl
import type { Migration } from './migrate.ts'

export interface ClusterTarget {
  /** Cluster name from the servers' `remote_servers` (CLICKHOUSE_CLUSTER). */
  cluster: string
  database: string
}

export const LOCAL_SUFFIX = '_local'

/** Keeper path of a sharded table's replicas: one replica set per shard ({shard}, {replica} are macros). */
export const shardedPath = (table: string): string => `/clickhouse/tables/{shard}/{database}/${table}`
/** Keeper path of a table every host holds whole (the migration ledger and lock): one replica set. */
export const everywherePath = (table: string): string => `/clickhouse/tables/all/{database}/${table}`
// Replica names must be unique within a replica set; in the one spanning every host, {replica} alone may
// repeat across shards (macros such as shard 01/replica 01), so the shard is part of the name.
const EVERYWHERE_REPLICA = '{shard}-{replica}'

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Throws unless `name` is a cluster name the DDL can carry unquoted ([A-Za-z_][A-Za-z0-9_]*). */
export function checkClusterName(name: string): string {
  if (!NAME.test(name))
    throw new Error(`cluster name ${JSON.stringify(name)} must match [A-Za-z_][A-Za-z0-9_]*`)
  return name
}

/** Index of the `)` closing the `(` at `open`, skipping quoted text; throws when unbalanced. */
export function closingParen(sql: string, open: number): number {
  let depth = 0
  for (let i = open; i < sql.length; i++) {
    const c = sql[i]
    if (c === "'" || c === '`' || c === '"') {
      for (i++; i < sql.length && sql[i] !== c; i++) if (sql[i] === '\\') i++
    } else if (c === '(') depth++
    else if (c === ')' && --depth === 0) return i
  }
  throw new Error(`unbalanced parenthesis in: ${sql.slice(open, open + 60)}`)
}

/** Splits at commas outside parentheses and quotes; trims each part. */
export function splitTopLevel(sql: string): string[] {
  const parts: string[] = []
  let start = 0
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]
    if (c === '(') i = closingParen(sql, i)
    else if (c === "'" || c === '`' || c === '"') {
      for (i++; i < sql.length && sql[i] !== c; i++) if (sql[i] === '\\') i++
    } else if (c === ',') {
      parts.push(sql.slice(start, i).trim())
      start = i + 1
    }
  }
  parts.push(sql.slice(start).trim())
  return parts.filter(Boolean)
}

export interface CreateTable {
  ifNotExists: boolean
  name: string
  /** The column list as written, without its parentheses. */
  columns: string
  columnNames: string[]
  engine: string
  /** Engine arguments as written, without parentheses; '' when none. */
  engineArgs: string
  /** Everything after the engine: PARTITION BY, ORDER BY, TTL, SETTINGS… */
  tail: string
  /** The ORDER BY expressions. */
  orderBy: string[]
}

const CREATE_TABLE = /^CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\(/i
const TAIL_CLAUSE = /\s(?:PARTITION\s+BY|PRIMARY\s+KEY|SAMPLE\s+BY|TTL|SETTINGS|COMMENT)\b/i

/** Parses `CREATE TABLE [IF NOT EXISTS] name (columns) ENGINE = E[(args)] …`; undefined for other SQL. */
export function parseCreateTable(sql: string): CreateTable | undefined {
  const m = CREATE_TABLE.exec(sql)
  if (!m) return undefined
  const open = m[0].length - 1
  const close = closingParen(sql, open)
  const columns = sql.slice(open + 1, close).trim()
  const rest = sql.slice(close + 1).trim()
  const e = /^ENGINE\s*=\s*(\w+)\s*/i.exec(rest)
  if (!e) throw new Error(`CREATE TABLE ${m[2]}: expected ENGINE = after the columns`)
  let engineArgs = ''
  let tail = rest.slice(e[0].length)
  if (tail.startsWith('(')) {
    const end = closingParen(tail, 0)
    engineArgs = tail.slice(1, end).trim()
    tail = tail.slice(end + 1).trim()
  }
  return {
    ifNotExists: Boolean(m[1]),
    name: m[2] as string,
    columns,
    columnNames: splitTopLevel(columns)
      .filter((c) => !/^(INDEX|PROJECTION|CONSTRAINT)\s/i.test(c))
      .map((c) => (/^`?(\w+)`?/.exec(c) as RegExpExecArray)[1] as string),
    engine: e[1] as string,
    engineArgs,
    tail,
    orderBy: orderByOf(tail),
  }
}

function orderByOf(tail: string): string[] {
  const m = /\bORDER\s+BY\s+/i.exec(tail)
  if (!m) return []
  let expr = tail.slice(m.index + m[0].length)
  if (expr.startsWith('(')) expr = expr.slice(1, closingParen(expr, 0))
  else {
    const end = TAIL_CLAUSE.exec(expr)
    if (end) expr = expr.slice(0, end.index)
  }
  const parts = splitTopLevel(expr)
  return parts.length === 1 && /^tuple\(\s*\)$/i.test(parts[0] as string) ? [] : parts
}

const isMergeTree = (engine: string): boolean =>
  /^\w*MergeTree$/.test(engine) && !engine.startsWith('Replicated')

/**
 * The Distributed table's sharding key: a hash of (app_id, session_id) when the sort key holds both, so
 * a session's rows and the rows FINAL collapses share a shard; else a hash of the whole sort key (rows
 * that replace or aggregate into each other still meet); rand() for a table with no sort key.
 */
export function shardingKey(t: CreateTable): string {
  if (t.orderBy.includes('app_id') && t.orderBy.includes('session_id'))
    return 'cityHash64(app_id, session_id)'
  return t.orderBy.length ? `cityHash64(${t.orderBy.join(', ')})` : 'rand()'
}

function replicatedEngine(t: CreateTable, path: string, replica: string): string {
  const args = [`'${path}'`, `'${replica}'`, ...(t.engineArgs ? [t.engineArgs] : [])]
  return `Replicated${t.engine}(${args.join(', ')})`
}

/**
 * `sql`, a MergeTree-family CREATE TABLE, as a table every host of the cluster holds whole (one replica
 * set across all shards): for the migration ledger and lock, which any host must read. Throws otherwise.
 */
export function everywhereTable(sql: string, target: ClusterTarget): string {
  const t = parseCreateTable(sql)
  if (!t || !isMergeTree(t.engine)) throw new Error(`not a MergeTree CREATE TABLE: ${sql.slice(0, 60)}`)
  const engine = replicatedEngine(t, everywherePath(t.name), EVERYWHERE_REPLICA)
  return `CREATE TABLE ${t.ifNotExists ? 'IF NOT EXISTS ' : ''}${target.database}.${t.name} ON CLUSTER ${target.cluster}
(${t.columns})
ENGINE = ${engine}
${t.tail}`.trimEnd()
}

// ALTER commands that change the columns, which the Distributed table must mirror to read them.
const COLUMN_COMMAND = /^(ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b/i

/**
 * Rewrites migrations for `target`. Throws, naming the migration, on a statement it cannot place on a
 * cluster. Statements on tables the migrations did not create as MergeTree tables keep their names.
 */
export function clusterMigrations(migrations: readonly Migration[], target: ClusterTarget): Migration[] {
  checkClusterName(target.cluster)
  const { cluster, database: db } = target
  const sharded = new Set<string>() // MergeTree tables created so far: `t` is Distributed, `t_local` holds rows
  const local = (name: string): string => `${db}.${sharded.has(name) ? name + LOCAL_SUFFIX : name}`

  const rewrite = (sql: string): string[] => {
    const create = parseCreateTable(sql)
    if (create) {
      const ine = create.ifNotExists ? 'IF NOT EXISTS ' : ''
      if (!isMergeTree(create.engine)) {
        return [sql.replace(CREATE_TABLE, `CREATE TABLE ${ine}${db}.${create.name} ON CLUSTER ${cluster} (`)]
      }
      sharded.add(create.name)
      const engine = replicatedEngine(create, shardedPath(create.name), '{replica}')
      return [
        `CREATE TABLE ${ine}${local(create.name)} ON CLUSTER ${cluster}\n(${create.columns})\nENGINE = ${engine}\n${create.tail}`.trimEnd(),
        `CREATE TABLE ${ine}${db}.${create.name} ON CLUSTER ${cluster} AS ${local(create.name)}\n` +
          `ENGINE = Distributed('${cluster}', '${db}', '${create.name}${LOCAL_SUFFIX}', ${shardingKey(create)})`,
      ]
    }
    const alter = /^ALTER\s+TABLE\s+(\w+)\s+([\s\S]+)$/i.exec(sql)
    if (alter) {
      const [, table, commands] = alter as unknown as [string, string, string]
      if (!sharded.has(table)) return [`ALTER TABLE ${db}.${table} ON CLUSTER ${cluster} ${commands}`]
      const kinds = new Set(splitTopLevel(commands).map((c) => COLUMN_COMMAND.test(c)))
      if (kinds.size > 1) throw new Error(`ALTER TABLE ${table} mixes column and other commands`)
      const out = [`ALTER TABLE ${local(table)} ON CLUSTER ${cluster} ${commands}`]
      // The Distributed table has the same columns and nothing else (no TTL, settings, projections).
      if (kinds.has(true)) out.push(`ALTER TABLE ${db}.${table} ON CLUSTER ${cluster} ${commands}`)
      return out
    }
    const mv =
      /^CREATE\s+MATERIALIZED\s+VIEW\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s+TO\s+(\w+)\s+AS\s+([\s\S]+)$/i.exec(sql)
    if (mv) {
      const [, ine, name, to, select] = mv as unknown as [string, string | undefined, string, string, string]
      // The view fires on the shard's local inserts and writes beside them, so its target rows follow
      // the source rows' shard (https://clickhouse.com/docs/en/sql-reference/statements/create/view).
      const body = select.replace(/\b(FROM|JOIN)\s+(\w+)\b/gi, (whole, kw: string, t: string) =>
        sharded.has(t) ? `${kw} ${local(t)}` : whole,
      )
      return [
        `CREATE MATERIALIZED VIEW ${ine ?? ''}${db}.${name} ON CLUSTER ${cluster} TO ${local(to)} AS ${body}`,
      ]
    }
    const view = /^CREATE\s+(OR\s+REPLACE\s+)?VIEW\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s+AS\s+/i.exec(sql)
    if (view) {
      // A plain view reads the Distributed tables: it is a query, run wherever it is read.
      return [
        `CREATE ${view[1] ?? ''}VIEW ${view[2] ?? ''}${db}.${view[3]} ON CLUSTER ${cluster} AS ${sql.slice(view[0].length)}`,
      ]
    }
    const drop = /^DROP\s+(TABLE|VIEW)\s+(IF\s+EXISTS\s+)?(\w+)\s*$/i.exec(sql)
    if (drop) {
      const [, kind, ie, name] = drop as unknown as [string, string, string | undefined, string]
      const out = [`DROP ${kind} ${ie ?? ''}${db}.${name} ON CLUSTER ${cluster} SYNC`]
      if (sharded.delete(name))
        out.push(`DROP TABLE ${ie ?? ''}${db}.${name}${LOCAL_SUFFIX} ON CLUSTER ${cluster} SYNC`)
      return out
    }
    // INSERT … SELECT runs once, through the Distributed tables: it reads every shard and each row goes
    // to its shard by the sharding key.
    if (/^INSERT\s+INTO\s/i.test(sql)) return [sql]
    throw new Error(`no cluster form for: ${sql.replace(/\s+/g, ' ').slice(0, 80)}`)
  }

  return migrations.map((m) => {
    try {
      return { ...m, statements: m.statements.flatMap(rewrite) }
    } catch (err) {
      throw new Error(`migration ${m.version}_${m.name} on cluster ${cluster}: ${(err as Error).message}`, {
        cause: err,
      })
    }
  })
}
