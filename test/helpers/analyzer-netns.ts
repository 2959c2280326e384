// A bandwidth-limited link for real calls: a veth pair between this network namespace and a new one,
// its egress towards the new namespace shaped by `tc tbf` (netem is not available here; tbf is). The
// receiving peer runs in the new namespace (analyzer-netns-peer.ts), the sending peer in a second child
// process here, so media must cross the shaped link. Needs root; linkProbe() says why it cannot run.
import { execFileSync, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const run = (...args: string[]): string =>
  execFileSync(args[0] as string, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString()

/** Undefined when a shaped link can be built here, else the precise reason it cannot. Never throws. */
export function linkProbe(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'creating network namespaces and veth links needs root'
  const name = `rtcprobe${randomBytes(2).toString('hex')}`
  try {
    run('ip', 'netns', 'add', name)
  } catch (err) {
    return `ip netns add failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`
  }
  try {
    run('ip', 'link', 'add', `${name}a`, 'type', 'veth', 'peer', 'name', `${name}b`)
    run(
      'tc',
      'qdisc',
      'add',
      'dev',
      `${name}a`,
      'root',
      'tbf',
      'rate',
      '1mbit',
      'burst',
      '32kbit',
      'latency',
      '100ms',
    )
    run('ip', 'link', 'del', `${name}a`)
  } catch (err) {
    return `veth or tc tbf unavailable: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`
  } finally {
    try {
      run('ip', 'netns', 'del', name)
    } catch {
      // Probe cleanup is best effort.
    }
  }
  return undefined
}

export interface ShapedLink {
  /** Namespace of the far side. */
  ns: string
  close(): void
}

/** Builds the link; `rateKbit` shapes traffic from here into the namespace. Throws if a command fails. */
export function shapedLink(rateKbit: number): ShapedLink {
  const id = randomBytes(2).toString('hex')
  const ns = `rtcpulse${id}`
  const here = `rpa${id}`
  const there = `rpb${id}`
  const net = `10.231.${parseInt(id, 16) % 250}`
  run('ip', 'netns', 'add', ns)
  try {
    run('ip', 'link', 'add', here, 'type', 'veth', 'peer', 'name', there)
    run('ip', 'link', 'set', there, 'netns', ns)
    run('ip', 'addr', 'add', `${net}.1/30`, 'dev', here)
    run('ip', 'link', 'set', here, 'up')
    run('ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', `${net}.2/30`, 'dev', there)
    run('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', there, 'up')
    run('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up')
    // Token bucket: `rate` sustained, a 32 kbit burst, packets queued at most 100 ms, then dropped.
    run(
      'tc',
      'qdisc',
      'add',
      'dev',
      here,
      'root',
      'tbf',
      'rate',
      `${rateKbit}kbit`,
      'burst',
      '32kbit',
      'latency',
      '100ms',
    )
  } catch (err) {
    run('ip', 'netns', 'del', ns)
    throw err
  }
  return {
    ns,
    close() {
      // Deleting the namespace deletes its veth end, and with it the pair.
      try {
        run('ip', 'netns', 'del', ns)
      } catch {
        // Already gone.
      }
    },
  }
}

type Msg = Record<string, unknown>

export interface ChildPeer {
  send(msg: Msg): void
  /** The next message with `key`, or rejects after `timeoutMs`. */
  next(key: string, timeoutMs?: number): Promise<Msg>
  onMessage(fn: (m: Msg) => void): void
  stats(): Promise<unknown[]>
  close(): Promise<void>
}

const PEER = fileURLToPath(new URL('./analyzer-netns-peer.ts', import.meta.url))

/** Starts analyzer-netns-peer.ts with `role`, inside namespace `ns` when given. */
export function childPeer(role: 'send' | 'recv', ns?: string): ChildPeer {
  const cmd = [process.execPath, '--import', 'tsx', PEER, role]
  const child: ChildProcess = ns
    ? spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(cmd[0] as string, cmd.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] })
  const listeners: ((m: Msg) => void)[] = []
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    let m: Msg
    try {
      m = JSON.parse(line) as Msg
    } catch {
      return
    }
    for (const l of [...listeners]) l(m)
  })
  let statsId = 0
  const peer: ChildPeer = {
    send: (msg) => child.stdin?.write(JSON.stringify(msg) + '\n'),
    onMessage: (fn) => listeners.push(fn),
    next: (key, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${role} peer sent no ${key} in ${timeoutMs} ms`)),
          timeoutMs,
        )
        const fn = (m: Msg): void => {
          if (!(key in m)) return
          clearTimeout(timer)
          listeners.splice(listeners.indexOf(fn), 1)
          resolve(m)
        }
        listeners.push(fn)
      }),
    async stats() {
      const id = ++statsId
      const reply = peer.next('stats')
      peer.send({ cmd: 'stats', id })
      return (await reply).stats as unknown[]
    },
    async close() {
      if (child.exitCode !== null) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      peer.send({ cmd: 'close' })
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
  return peer
}

/** Connects a sender and a receiver: relays offer, answer and candidates; resolves when both are connected. */
export async function connectPeers(
  sender: ChildPeer,
  receiver: ChildPeer,
  timeoutMs = 20_000,
): Promise<void> {
  sender.onMessage((m) => {
    if (m.offer) receiver.send({ offer: m.offer })
    if (m.candidate) receiver.send({ candidate: m.candidate })
  })
  receiver.onMessage((m) => {
    if (m.answer) sender.send({ answer: m.answer })
    if (m.candidate) sender.send({ candidate: m.candidate })
  })
  const connected = (p: ChildPeer): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('peers did not connect across the shaped link')),
        timeoutMs,
      )
      p.onMessage((m) => {
        if (m.state === 'connected') {
          clearTimeout(timer)
          resolve()
        } else if (m.state === 'failed' || m.error) {
          clearTimeout(timer)
          reject(new Error(`peer ${String(m.state ?? m.error)}`))
        }
      })
    })
  await Promise.all([connected(sender), connected(receiver)])
}
