/// <reference lib="dom" />
/**
 * The SOC page's script (served as /soc/app.js; no imports, no framework). It asks for the API token once
 * per tab (kept in sessionStorage, never in a URL), streams alerts over the websocket with the token as a
 * subprotocol (CONTRACT §2: browsers cannot set headers on a websocket), resumes from the last `seq` it
 * saw after a disconnect, and shows the newest alerts with their updates and revocations. Above them, the
 * operators' mutes in force (read every 30 s): what the SOC is not being told, and for how long.
 *
 * Every string from an alert comes from spans an agent wrote, so nothing is ever parsed as HTML: text
 * goes in with textContent only (and the page's CSP allows no inline script besides).
 */

interface AlertView {
  id: string;
  seq: number;
  eventTime: string;
  detector: string;
  severity: string;
  score: number;
  identity: string;
  title: string;
  explanation: string;
  count: number;
  evidence: Record<string, unknown>;
  response?: { action?: string; mode?: string; revocationId?: string; status?: string };
}
interface RevocationView {
  revocationId: string;
  alertId: string;
  status: string;
  reason: string;
  credentialId: string | null;
}
interface MuteView {
  identity: string;
  detector: string;
  subject: string | null;
  maxSeverity: string;
  reason: string;
  by: string;
  until: string;
  muted: number;
}
type Frame =
  | { type: 'alert'; alert: AlertView }
  | { type: 'update'; update: { id: string; count: number; lastEventTime: string } }
  | { type: 'revocation'; revocation: RevocationView }
  | { type: 'heartbeat'; seq: number };

/** Rows kept on the page: the newest. */
const MAX_ROWS = 500;
/** Revocation states remembered, most recently changed: enough for the alerts the rows show. */
const MAX_REVOCATIONS = 2 * MAX_ROWS;
const TOKEN_KEY = 'vigil.token';
const SEVERITY_RANK: Record<string, number> = { low: 0, medium: 1, high: 2, critical: 3 };
/** How often the mutes in force are read again: they change by an operator's hand, or as they end. */
const MUTES_EVERY_MS = 30_000;
/** Every mute that can be in force at once (MAX_ACTIVE_MUTES), in one page (the API's largest). */
const MUTES_READ = 1000;

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const alerts = new Map<string, { alert: AlertView; row: HTMLTableRowElement }>();
const revocations = new Map<string, RevocationView>();
let lastSeq = 0;
let socket: WebSocket | null = null;
let retryMs = 1000;
let selected: string | null = null;
let mutesTimer: ReturnType<typeof setInterval> | undefined;
/** Counts sign-ins and sign-outs: a mutes answer from an earlier one is not shown. */
let signedIn = 0;

const shortTime = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

function cell(text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function setStatus(text: string, state: 'ok' | 'down' | 'error'): void {
  const s = byId('status');
  s.textContent = text;
  s.dataset.state = state;
}

function shown(a: AlertView): boolean {
  return SEVERITY_RANK[a.severity] >= SEVERITY_RANK[byId<HTMLSelectElement>('min-severity').value];
}

function addAlert(a: AlertView): void {
  if (alerts.has(a.id)) return;
  const row = document.createElement('tr');
  row.dataset.id = a.id;
  row.append(cell(String(a.seq)), cell(shortTime(a.eventTime)), cell(a.severity, `sev sev-${a.severity}`), cell(a.detector), cell(a.identity), cell(a.title), cell(String(a.count), 'count'));
  row.hidden = !shown(a);
  row.addEventListener('click', () => select(a.id));
  byId('alerts').prepend(row);
  alerts.set(a.id, { alert: a, row });
  lastSeq = Math.max(lastSeq, a.seq);
  // The oldest rows go first (insertion order is seq order).
  while (alerts.size > MAX_ROWS) {
    const [oldest, entry] = alerts.entries().next().value!;
    entry.row.remove();
    alerts.delete(oldest);
  }
  byId('empty').hidden = alerts.size > 0;
}

function select(id: string): void {
  const entry = alerts.get(id);
  if (!entry) return;
  selected = id;
  for (const { row } of alerts.values()) row.classList.toggle('selected', row.dataset.id === id);
  const a = entry.alert;
  byId('detail').hidden = false;
  byId('detail-title').textContent = a.title;
  byId('detail-explanation').textContent = a.explanation;
  byId('detail-meta').textContent = `${a.detector} · ${a.severity} (score ${a.score}) · ${a.identity} · seen ${a.count} time(s) · alert ${a.id}`;
  const revocation = a.response?.revocationId ? revocations.get(a.response.revocationId) : undefined;
  byId('detail-response').textContent = a.response
    ? `Response: ${a.response.action ?? ''} (${a.response.mode ?? ''})${
        revocation ? ` — revocation ${revocation.status}: ${revocation.reason}` : a.response.status ? ` — revocation ${a.response.status}` : ''
      }`
    : 'Response: none';
  byId('detail-evidence').textContent = JSON.stringify(a.evidence, null, 2);
}

function onFrame(f: Frame): void {
  if (f.type === 'alert') addAlert(f.alert);
  else if (f.type === 'update') {
    const entry = alerts.get(f.update.id);
    if (!entry) return;
    entry.alert.count = f.update.count;
    entry.row.querySelector('.count')!.textContent = String(f.update.count);
  } else if (f.type === 'revocation') {
    // The latest states only, as rows are (a tab open for weeks kept every frame: review29 #7).
    revocations.delete(f.revocation.revocationId);
    revocations.set(f.revocation.revocationId, f.revocation);
    if (revocations.size > MAX_REVOCATIONS) revocations.delete(revocations.keys().next().value!);
  } else return;
  if (selected !== null) select(selected);
}

/** The mutes in force, newest first, each one line of text: whose findings of which detector raise no alert, until when, why. */
function showMutes(mutes: MuteView[]): void {
  byId('mutes').hidden = mutes.length === 0;
  byId('mutes-title').textContent = `${mutes.length} mute${mutes.length === 1 ? '' : 's'} in force: these findings raise no alert`;
  const list = byId('mutes-list');
  list.replaceChildren(
    ...mutes.reverse().map((m) => {
      const li = document.createElement('li');
      li.textContent =
        `${m.identity} · ${m.detector} on ${m.subject ?? 'any subject'} · up to ${m.maxSeverity} · until ${shortTime(m.until)}` +
        ` · swallowed ${m.muted} · "${m.reason}" (set from ${m.by})`;
      return li;
    }),
  );
}

function readMutes(token: string): void {
  const asked = signedIn;
  fetch(`/v1/mutes?limit=${MUTES_READ}`, { headers: { Authorization: `Bearer ${token}` } })
    .then((res) => (res.ok ? (res.json() as Promise<{ mutes: MuteView[] }>) : null))
    .then((body) => body && asked === signedIn && showMutes(body.mutes), () => undefined); // the alert stream says when the API is down
}

function connect(token: string): void {
  const bearer = 'bearer.' + btoa(token).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/v1/alerts/stream?since=${lastSeq}`, ['vigil.v1', bearer]);
  socket = ws;
  ws.addEventListener('open', () => {
    retryMs = 1000;
    setStatus('live', 'ok');
  });
  ws.addEventListener('message', (e) => onFrame(JSON.parse(String(e.data)) as Frame));
  let opened = false;
  ws.addEventListener('open', () => (opened = true));
  ws.addEventListener('close', (e) => {
    if (socket !== ws) return;
    setStatus(`disconnected (${e.reason || e.code}); reconnecting`, 'down');
    const retry = () => {
      setTimeout(() => socket === ws && connect(token), retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    };
    if (opened) return retry();
    // Refused before it opened: a browser does not say why, so ask over REST. A token refused now (the
    // daemon's changed) asks for a new one instead of retrying it for ever (review41 L6).
    fetch('/v1/alerts?limit=1', { headers: { Authorization: `Bearer ${token}` } }).then(
      (res) => (socket !== ws ? undefined : res.status === 401 ? signOut('That token is refused now (was it changed?): sign in again.') : retry()),
      retry,
    );
  });
}

function signOut(message = ''): void {
  const ws = socket;
  socket = null;
  ws?.close();
  sessionStorage.removeItem(TOKEN_KEY);
  signedIn++;
  clearInterval(mutesTimer);
  byId('mutes').hidden = true;
  byId('login').hidden = false;
  byId('login-error').textContent = message;
  setStatus('signed out', 'error');
}

function start(token: string): void {
  byId('login').hidden = true;
  setStatus('connecting', 'down');
  // Checked once over REST first, so a wrong token says so at once instead of a failing websocket.
  fetch('/v1/alerts?limit=1', { headers: { Authorization: `Bearer ${token}` } }).then((res) => {
    if (res.status === 401) return signOut('That token was refused.');
    sessionStorage.setItem(TOKEN_KEY, token);
    signedIn++;
    connect(token);
    readMutes(token);
    clearInterval(mutesTimer);
    mutesTimer = setInterval(() => readMutes(token), MUTES_EVERY_MS);
  }, () => signOut('The API cannot be reached.'));
}

byId<HTMLFormElement>('login').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = byId<HTMLInputElement>('token');
  const token = input.value.trim();
  input.value = '';
  if (token) start(token);
});
byId('sign-out').addEventListener('click', () => signOut());
byId<HTMLSelectElement>('min-severity').addEventListener('change', () => {
  for (const { alert, row } of alerts.values()) row.hidden = !shown(alert);
});
const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) start(saved);
else signOut();
