// Records real getStats() reports of a two-peer call inside headless Firefox ESR (fake camera and
// microphone, loopback) as JSON fixtures in the format of test/fixtures/recorded/.
// Usage: npx tsx test/helpers/record-firefox.ts [seconds=30] [outDir=test/fixtures/firefox]
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { format, resolveConfig } from 'prettier'
import { launchBrowser } from './browser.ts'

// Peer `a` sends 640x360 video at 30 fps and audio; peer `b` receives. Both pcs are polled together,
// so sender[i] and receiver[i] line up. Certificates are dropped (they only weigh).
const PAGE = `<!doctype html><meta charset="utf-8"><script>
window.start = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360, frameRate: 30 } })
  const a = new RTCPeerConnection()
  const b = new RTCPeerConnection()
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate)
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate)
  for (const t of stream.getTracks()) a.addTrack(t, stream)
  await a.setLocalDescription(await a.createOffer())
  await b.setRemoteDescription(a.localDescription)
  await b.setLocalDescription(await b.createAnswer())
  await a.setRemoteDescription(b.localDescription)
  await new Promise((resolve) => {
    const check = () => a.connectionState === 'connected' && b.connectionState === 'connected' && resolve()
    a.onconnectionstatechange = b.onconnectionstatechange = check
    check()
  })
  window.pcs = [a, b]
}
window.sample = async () => {
  const out = []
  for (const report of await Promise.all(window.pcs.map((pc) => pc.getStats()))) {
    const list = []
    report.forEach((s) => s.type !== 'certificate' && list.push(s))
    out.push(list)
  }
  return out
}
</script>`

/** Records `seconds` reports per side, one a second after both pcs connected. */
export async function recordFirefox(
  seconds: number,
): Promise<{ sender: unknown[][]; receiver: unknown[][]; version: string }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const browser = await launchBrowser('firefox')
  try {
    const tab = await browser.newPage()
    await tab.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
    await tab.evaluate(() => (window as unknown as { start(): Promise<void> }).start())
    const sender: unknown[][] = []
    const receiver: unknown[][] = []
    const t0 = performance.now()
    for (let i = 1; i <= seconds; i++) {
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + i * 1000 - performance.now())))
      const [a, b] = await tab.evaluate(() =>
        (window as unknown as { sample(): Promise<unknown[][]> }).sample(),
      )
      sender.push(a ?? [])
      receiver.push(b ?? [])
    }
    return { sender, receiver, version: await browser.version() }
  } finally {
    await browser.close()
    server.close()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const seconds = Number(process.argv[2] ?? 30)
  const outDir = process.argv[3] ?? fileURLToPath(new URL('../fixtures/firefox/', import.meta.url))
  const { sender, receiver, version } = await recordFirefox(seconds)
  await mkdir(outDir, { recursive: true })
  for (const [side, reports] of [
    ['sender', sender],
    ['receiver', receiver],
  ] as const) {
    const file = path.join(outDir, `${side}-${seconds}s.json`)
    const recordedWith = `${version} (Debian firefox-esr, headless, fake media)`
    // Formatted as the repository's prettier check expects of every JSON file.
    const json = JSON.stringify({ recordedWith, intervalMs: 1000, reports })
    await writeFile(file, await format(json, { ...(await resolveConfig(file)), filepath: file }))
    console.log(`${file}: ${reports.length} reports`)
  }
}
