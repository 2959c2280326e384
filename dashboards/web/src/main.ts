// The built-in view's entry point: a hash router over two pages and the API-key setting.
//   #/sessions?app=…&range=…&scoreBelow=…&issue=…&codec=…&browser=…   session list and score distribution
//   #/session/<id>?app=…                                              one session
import 'uplot/dist/uPlot.min.css'
import './style.css'
import { ApiError, apiKey, setApiKey } from './api.ts'
import { h, replace } from './dom.ts'
import { listParams, sessionsView } from './sessions.ts'
import type { ListParams } from './sessions.ts'
import { sessionView } from './session.ts'

const LAST_APP = 'rtcpulse.app'

function header(): HTMLElement {
  const keyButton = h('button', { class: 'key', type: 'button' }, apiKey() ? 'API key ✓' : 'API key')
  keyButton.addEventListener('click', () => {
    const key = prompt('API key for this collector (RTCPULSE_API_KEYS); empty to forget it', apiKey())
    if (key === null) return
    setApiKey(key.trim())
    keyButton.textContent = apiKey() ? 'API key ✓' : 'API key'
    route()
  })
  return h(
    'header',
    {},
    h('a', { class: 'brand', href: '#/sessions' }, 'rtcpulse'),
    h('nav', {}, h('a', { href: '#/sessions' }, 'Sessions')),
    keyButton,
  )
}

const main = h('main', {})

function goList(p: ListParams): void {
  const q = new URLSearchParams(Object.entries(p).filter(([, v]) => v !== ''))
  location.hash = `#/sessions?${q.toString()}`
}

function showError(err: unknown): void {
  const msg =
    err instanceof ApiError && (err.status === 401 || err.status === 403)
      ? `${err.message}. Set an API key for this app (button at the top right).`
      : err instanceof Error
        ? err.message
        : String(err)
  replace(main, h('p', { class: 'error' }, msg))
}

function route(): void {
  const [path = '', query = ''] = location.hash.replace(/^#/, '').split('?')
  const q = new URLSearchParams(query)
  const session = /^\/session\/(.+)$/.exec(path)
  if (session) {
    const app = q.get('app') ?? ''
    localStorage.setItem(LAST_APP, app)
    sessionView(main, app, decodeURIComponent(session[1] as string)).catch(showError)
    return
  }
  const p = listParams(q)
  if (!p.app) p.app = localStorage.getItem(LAST_APP) ?? ''
  if (p.app) localStorage.setItem(LAST_APP, p.app)
  sessionsView(main, p, goList).catch(showError)
}

document.getElementById('app')?.append(header(), main)
window.addEventListener('hashchange', route)
route()
