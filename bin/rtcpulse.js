#!/usr/bin/env node
// Installed entry point: runs the TypeScript CLI through tsx's loader (no build step for the server).
import { register } from 'tsx/esm/api'

register()
const { main } = await import('./cli.ts')
await main(process.argv.slice(2))
