/**
 * The dashboard's stylesheet (a TS string module so `deno compile` carries it). Colours keep a
 * contrast of at least 4.5:1 against their background (text) and 3:1 (graphics).
 *
 * @module
 */

/** The CSS served at `GET /dashboard.css`. */
export const DASHBOARD_CSS = `
:root {
  --bg: #ffffff; --fg: #1b1b1f; --muted: #4a4f59; --line: #6b7280; --track: #e4e7ec;
  --req: #1a56b0; --err: #b3261e; --ok: #1e6b34;
  color-scheme: light;
  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
body { margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; align-items: baseline; gap: 1rem; padding: 0.75rem 1.25rem;
  border-bottom: 1px solid var(--track); }
h1 { font-size: 1.25rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 0 0 0.25rem; }
main { display: grid; gap: 1.25rem; padding: 1rem 1.25rem; max-width: 980px; }
section { border: 1px solid var(--track); border-radius: 6px; padding: 0.75rem 1rem; }
.hint { color: var(--muted); font-size: 0.85rem; margin: 0 0 0.5rem; }
#status { margin: 0; font-size: 0.9rem; color: var(--muted); }
#status[data-state="live"]::before { content: "● "; color: var(--ok); }
#status[data-state="stale"]::before { content: "● "; color: var(--err); }
.pool-classes, .rejections { display: grid; gap: 0.4rem; }
.row { display: grid; grid-template-columns: 14rem 1fr 12rem; gap: 0.75rem; align-items: center; }
.row .label { white-space: nowrap; font-weight: 600; font-variant-numeric: tabular-nums; }
.row .value { color: var(--muted); font-size: 0.85rem; font-variant-numeric: tabular-nums; }
.bar { position: relative; height: 1.1rem; background: var(--track); border: 1px solid var(--line);
  border-radius: 3px; overflow: hidden; }
.bar .fill { position: absolute; inset: 0 auto 0 0; width: 0; background: var(--req);
  transition: width 0.3s; }
.bar .fill.reject { background: var(--err); }
.bar .peak { position: absolute; top: 0; bottom: 0; width: 3px; margin-left: -1px;
  background: var(--err); }
.legend { margin: 0 0 0.25rem; font-size: 0.85rem; }
.key { display: inline-block; width: 1.2rem; height: 3px; vertical-align: middle;
  margin: 0 0.3rem 0 0.6rem; }
.key-req { background: var(--req); }
.key-err { background: var(--err); }
.chart-box { margin: 0; }
.chart { width: 100%; height: 160px; border-left: 1px solid var(--line);
  border-bottom: 1px solid var(--line); }
.chart .req, .spark .req { fill: none; stroke: var(--req); stroke-width: 2;
  vector-effect: non-scaling-stroke; }
.chart .err, .spark .err { fill: none; stroke: var(--err); stroke-width: 2;
  vector-effect: non-scaling-stroke; }
.axis { display: flex; justify-content: space-between; color: var(--muted); font-size: 0.8rem; }
.chart .area { fill: var(--req); fill-opacity: 0.12; stroke: none; }
.chart .dot.req { fill: var(--req); stroke: none; }
.chart .dot.err { fill: var(--err); stroke: none; }
.chart .grid { stroke: var(--track); stroke-width: 1; vector-effect: non-scaling-stroke; }
.chart text { fill: var(--muted); font-size: 11px; }
.methods { width: 100%; border-collapse: collapse; margin-top: 0.75rem; font-size: 0.9rem; }
.methods caption { text-align: left; color: var(--muted); font-size: 0.85rem; padding-bottom: 0.25rem; }
.methods th, .methods td { padding: 0.2rem 0.5rem; border-bottom: 1px solid var(--track);
  text-align: left; }
.methods .num { text-align: right; font-variant-numeric: tabular-nums; }
.methods td.err-nonzero { color: var(--err); font-weight: 600; }
.spark { width: 140px; height: 24px; display: block; }
.empty { color: var(--muted); font-style: italic; }
`;
