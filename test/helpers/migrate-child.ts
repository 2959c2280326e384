// A migrator in a process of its own, against a ClickHouse HTTP URL: `migrate` applies the migrations and
// prints the versions it applied as one JSON line; `hold` takes the migration lock, prints `held` and
// keeps it until killed (a migrator that crashes mid-migration). Run with `node --import tsx`.
import { createClickHouseStore } from '../../store/clickhouse.ts'
import { migrate } from '../../store/migrate.ts'
import { acquireMigrationLock } from '../../store/migration-lock.ts'

const [url, database, mode, leaseMs] = process.argv.slice(2) as [string, string, string, string]
const store = await createClickHouseStore({ url, database, requestTimeoutMs: 60_000 })
const lock = { leaseMs: Number(leaseMs), pollMs: 100 }
if (mode === 'hold') {
  await acquireMigrationLock(store, lock)
  process.stdout.write('held\n')
  setInterval(() => {}, 1 << 30)
} else {
  const applied = await migrate(store, undefined, [], lock)
  process.stdout.write(JSON.stringify(applied) + '\n')
  await store.close()
}
