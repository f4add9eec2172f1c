/**
 * The SOC page (CONTRACT §2: the API listener serves it): `GET /soc`, its script and style, and `/`
 * pointing there. The page itself holds no data, so it loads without the token (a browser cannot send
 * one on navigation); everything it shows comes from the token-guarded websocket and REST routes, with
 * the token the analyst types in. A strict CSP allows only these same-origin files: alert text is
 * span-controlled, and the script only ever sets it as text (soc/app.ts).
 */
import fs from 'node:fs';
import type http from 'node:http';
import { fileURLToPath } from 'node:url';

export const SOC_PATHS: ReadonlySet<string> = new Set(['/', '/soc', '/soc/app.js', '/soc/app.css']);

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vigil — alerts</title>
<link rel="stylesheet" href="/soc/app.css">
</head>
<body>
<header>
  <h1>Vigil</h1>
  <span id="status" data-state="down">loading</span>
  <label>Severity at least
    <select id="min-severity"><option value="low">low</option><option value="medium">medium</option><option value="high">high</option><option value="critical">critical</option></select>
  </label>
  <button id="sign-out" type="button">Sign out</button>
</header>
<form id="login" hidden>
  <label for="token">API token</label>
  <input id="token" type="password" autocomplete="off" required>
  <button type="submit">Connect</button>
  <p id="login-error" role="alert"></p>
</form>
<main>
  <section id="mutes" hidden>
    <h2 id="mutes-title"></h2>
    <ul id="mutes-list"></ul>
  </section>
  <table>
    <thead><tr><th>seq</th><th>event time</th><th>severity</th><th>detector</th><th>identity</th><th>title</th><th>count</th></tr></thead>
    <tbody id="alerts"></tbody>
  </table>
  <p id="empty">No alerts yet.</p>
  <section id="detail" hidden>
    <h2 id="detail-title"></h2>
    <p id="detail-meta"></p>
    <p id="detail-explanation"></p>
    <p id="detail-response"></p>
    <pre id="detail-evidence"></pre>
  </section>
</main>
<script type="module" src="/soc/app.js"></script>
</body>
</html>
`;

const CSS = `[hidden] { display: none !important; }
body { font: 14px system-ui, sans-serif; margin: 0; color: #1d1d1f; }
header { display: flex; gap: 1em; align-items: center; padding: .5em 1em; background: #16213e; color: #fff; }
header h1 { font-size: 1.2em; margin: 0 1em 0 0; }
#status[data-state="ok"] { color: #7ee081; } #status[data-state="down"] { color: #f5c542; } #status[data-state="error"] { color: #ff7b7b; }
#login { padding: 2em; display: flex; gap: .5em; align-items: center; flex-wrap: wrap; } #login-error { color: #b00020; width: 100%; }
main { padding: 0 1em; } table { border-collapse: collapse; width: 100%; margin-top: .5em; }
th, td { text-align: left; padding: .3em .5em; border-bottom: 1px solid #ddd; vertical-align: top; overflow-wrap: anywhere; }
tbody tr { cursor: pointer; } tbody tr:hover, tr.selected { background: #eef3ff; }
.sev { font-weight: 600; } .sev-critical { color: #b00020; } .sev-high { color: #d35400; } .sev-medium { color: #9a7d0a; } .sev-low { color: #555; }
#mutes { background: #fff8e1; border: 1px solid #f5c542; padding: .3em 1em; margin-top: .5em; } #mutes h2 { font-size: 1em; margin: .3em 0; } #mutes ul { margin: .3em 0; padding-left: 1.2em; max-height: 12em; overflow: auto; }
#detail { border-top: 2px solid #16213e; margin-top: 1em; } #detail-evidence { background: #f6f8fa; padding: 1em; overflow: auto; max-height: 40vh; }
`;

let script: string | undefined;
/**
 * The compiled script (soc/app.ts), read at its first request. Beside this module in dist/; when this
 * module runs from src/ (the tests, through vitest), from dist/, which the build (npm test's pretest) made.
 */
function compiledScript(): string {
  const beside = fileURLToPath(new URL('./soc/app.js', import.meta.url));
  const built = fileURLToPath(new URL('../../dist/src/api/soc/app.js', import.meta.url));
  return (script ??= fs.readFileSync(fs.existsSync(beside) ? beside : built, 'utf8'));
}

/** Answers a SOC path (one of SOC_PATHS, GET or HEAD). */
export function serveSocPage(pathname: string, res: http.ServerResponse): void {
  if (pathname === '/') {
    res.writeHead(302, { Location: '/soc', ...SECURITY_HEADERS });
    return void res.end();
  }
  const [type, body] = pathname === '/soc/app.js' ? ['text/javascript', compiledScript()] : pathname === '/soc/app.css' ? ['text/css', CSS] : ['text/html', HTML];
  res.writeHead(200, { 'Content-Type': `${type}; charset=utf-8`, ...SECURITY_HEADERS });
  res.end(body);
}
