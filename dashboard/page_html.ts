/**
 * The dashboard page's HTML. A TS string module (not a file read at boot) so that
 * `deno compile` carries it without `--include`. The page loads only its own stylesheet and
 * script from this origin; the Content-Security-Policy in `mod.ts` forbids everything else.
 *
 * @module
 */

/** The HTML document served at `GET /`. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>worknode · dashboard</title>
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>worknode · live dashboard</h1>
  <p id="status" role="status" aria-live="polite" data-state="connecting">connecting…</p>
</header>
<main>
  <section aria-labelledby="pool-title">
    <h2 id="pool-title">Pool occupancy</h2>
    <p class="hint">Blocks in use per size class; the red mark is the high watermark since boot.</p>
    <div id="pool-classes" class="pool-classes"></div>
  </section>
  <section aria-labelledby="rate-title">
    <h2 id="rate-title">Requests per second</h2>
    <p class="legend"><span class="key key-req"></span>requests/s
      <span class="key key-err"></span>errors/s <span class="hint">(last 60 s)</span></p>
    <figure class="chart-box">
      <svg id="rate-chart" class="chart" viewBox="0 0 600 160" role="img"
        aria-labelledby="rate-title" data-points="0"></svg>
      <div class="axis" aria-hidden="true"><span>60 s ago</span><span>now</span></div>
      <figcaption id="rate-now" class="hint">waiting for data…</figcaption>
    </figure>
    <table id="methods" class="methods">
      <caption>By method (methods with calls since boot)</caption>
      <thead><tr>
        <th scope="col">Method</th><th scope="col" class="num">req/s</th>
        <th scope="col" class="num">err/s</th><th scope="col" class="num">total</th>
        <th scope="col" class="num">errors</th><th scope="col">last 60 s</th>
      </tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section aria-labelledby="rejected-title">
    <h2 id="rejected-title">Rejections by reason</h2>
    <p class="hint">Requests refused before a handler ran (totals since boot, rate per second).</p>
    <div id="rejections" class="rejections"></div>
  </section>
</main>
</body>
</html>
`;
