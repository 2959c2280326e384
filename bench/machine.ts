// The machine a figure was measured on, printed beside every result (a number without it is meaningless).
import { cpus, totalmem } from 'node:os'

export interface Machine {
  cores: number
  cpu: string
  node: string
  memoryGiB: number
  platform: string
}

/** Describes this machine: logical cores, CPU model, Node version, total memory. */
export function machine(): Machine {
  const list = cpus()
  return {
    cores: list.length,
    cpu: list[0]?.model.trim() ?? 'unknown',
    node: process.version,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform}-${process.arch}`,
  }
}

/** One line for logs and RESULTS.md, e.g. `2 cores AMD EPYC, 23.5 GiB, Node v20.20.2, linux-x64`. */
export const describeMachine = (m: Machine): string =>
  `${m.cores} cores ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}`
