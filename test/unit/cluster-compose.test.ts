// Guards the scale-out deployment (docker-compose.cluster.yml with deploy/clickhouse-cluster/), which no
// Docker engine here can run: its cluster name is the one the collector is given, every ClickHouse host is
// a replica of the remote_servers layout (two shards × two replicas) and has macros for the {shard} and
// {replica} the replicated tables' Keeper paths use (store/cluster-ddl.ts), replica names are unique, and
// the Keeper ensemble the hosts use is the one the compose file runs.
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadConfig } from '../../collector/config.ts'
import { shardedPath } from '../../store/cluster-ddl.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DIR = 'deploy/clickhouse-cluster/'
const read = (path: string): string => readFileSync(ROOT + path, 'utf8')

interface Service {
  image?: string
  environment?: Record<string, string | number>
  volumes?: string[]
  depends_on?: string[] | Record<string, unknown>
}
const base = parse(read('docker-compose.yml')) as { services: Record<string, Service> }
const cluster = parse(read('docker-compose.cluster.yml'), { merge: true }) as {
  services: Record<string, Service>
}
// What `docker compose -f docker-compose.yml -f docker-compose.cluster.yml` runs, for the fields read here.
const services: Record<string, Service> = { ...base.services }
for (const [name, s] of Object.entries(cluster.services)) {
  const b = base.services[name] ?? {}
  services[name] = {
    ...b,
    ...s,
    environment: { ...b.environment, ...s.environment },
    volumes: [...(b.volumes ?? []), ...(s.volumes ?? [])],
  }
}

const tags = (xml: string, tag: string): string[] =>
  [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => m[1] as string)
const clusterXml = read(`${DIR}cluster.xml`)
const clusterName = /<remote_servers[^>]*>\s*<(\w+)>/.exec(clusterXml)?.[1]
const shards = [...clusterXml.matchAll(/<shard>([\s\S]*?)<\/shard>/g)].map((m) => ({
  internal: tags(m[1] as string, 'internal_replication')[0],
  hosts: [...(m[1] as string).matchAll(/<replica><host>([^<]+)<\/host>/g)].map((r) => r[1] as string),
}))
/** The config file mounted at `target` in `service`, as a repository path. */
const mounted = (service: Service, target: string): string | undefined =>
  service.volumes
    ?.map((v) => v.split(':'))
    .find((v) => v[1] === target)?.[0]
    ?.replace(/^\.\//, '')

describe('docker-compose.cluster.yml', () => {
  it('gives the collector the cluster that remote_servers and the macros name, and the config accepts it', () => {
    const env = services.collector?.environment ?? {}
    expect(clusterName).toBe('rtcpulse')
    expect(env.CLICKHOUSE_CLUSTER).toBe(clusterName)
    const config = loadConfig({
      RTCPULSE_DEV: '1',
      CLICKHOUSE_URL: String(env.CLICKHOUSE_URL),
      CLICKHOUSE_CLUSTER: clusterName,
    })
    expect(config.cluster).toBe(clusterName)
  })

  it('runs every host of remote_servers, two shards of two replicas, each with its shard and a unique replica', () => {
    expect(shards.map((s) => s.hosts.length)).toEqual([2, 2])
    expect(shards.every((s) => s.internal === 'true')).toBe(true)
    const replicas = new Set<string>()
    shards.forEach((shard, i) => {
      for (const host of shard.hosts) {
        const service = services[host]
        expect(service, host).toBeDefined()
        expect(service?.image).toBe(base.services.clickhouse?.image)
        expect(mounted(service as Service, '/etc/clickhouse-server/config.d/cluster.xml')).toBe(
          `${DIR}cluster.xml`,
        )
        expect(mounted(service as Service, '/etc/clickhouse-server/users.d/grafana.xml')).toBeDefined()
        const macrosFile = mounted(service as Service, '/etc/clickhouse-server/config.d/macros.xml') as string
        expect(existsSync(ROOT + macrosFile), host).toBe(true)
        const macros = read(macrosFile)
        // The macros the replicated tables' Keeper paths and replica names use.
        for (const macro of [...shardedPath('t').matchAll(/\{(\w+)\}/g)]
          .map((m) => m[1] as string)
          .concat('replica')) {
          if (macro !== 'database') expect(tags(macros, macro), `${host} {${macro}}`).toHaveLength(1)
        }
        expect(Number(tags(macros, 'shard')[0])).toBe(i + 1)
        expect(tags(macros, 'cluster')[0]).toBe(clusterName)
        replicas.add(tags(macros, 'replica')[0] as string)
        expect(service?.environment?.CLICKHOUSE_CLUSTER_SECRET).toBeDefined()
      }
    })
    expect(replicas.size).toBe(4)
    // The collector waits for all four: ON CLUSTER DDL needs every host.
    expect(Object.keys(services.collector?.depends_on ?? {}).sort()).toEqual(
      shards.flatMap((s) => s.hosts).sort(),
    )
  })

  it('points the hosts at the Keeper ensemble it runs, whose members know each other', () => {
    const keeperXml = read(`${DIR}keeper.xml`)
    const nodes = tags(/<zookeeper>([\s\S]*?)<\/zookeeper>/.exec(clusterXml)?.[1] ?? '', 'host')
    const raft = [...keeperXml.matchAll(/<server><id>(\d+)<\/id><hostname>([^<]+)<\/hostname>/g)]
    expect(nodes).toHaveLength(3)
    expect(raft.map((r) => r[2])).toEqual(nodes)
    for (const [, id, host] of raft) {
      const keeper = services[host as string]
      expect(keeper?.image, host).toMatch(/^clickhouse\/clickhouse-keeper:/)
      expect(String(keeper?.environment?.KEEPER_SERVER_ID)).toBe(id)
      expect(mounted(keeper as Service, '/etc/clickhouse-keeper/keeper_config.xml')).toBe(`${DIR}keeper.xml`)
    }
  })

  it('mounts only files that exist, and names its secret in the example environment', () => {
    const mounts = [...read('docker-compose.cluster.yml').matchAll(/^\s+- \.\/([^:]+):/gm)].map(
      (m) => m[1] as string,
    )
    expect(mounts.length).toBeGreaterThan(10)
    for (const m of mounts) expect(existsSync(ROOT + m), m).toBe(true)
    expect(read('dashboards/.env.example')).toMatch(/^CLICKHOUSE_CLUSTER_SECRET=/m)
  })
})
