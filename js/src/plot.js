// The score over the history's steps as a small SVG chart: axes with tick labels and titles, a line
// through the scored steps and a dot (with a tooltip) for each.
import { svg } from "./dom.js";

const MARGIN = { left: 46, right: 12, top: 10, bottom: 34 };
const MAX_X_TICKS = 6;

const clean = (value) => Number(value.toPrecision(12));

/** Round ticks covering lo..hi (about `count` of them): {lo, hi, ticks}; a single value gets a small range. */
export function niceTicks(lo, hi, count = 4) {
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count - 1);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw * (1 - 1e-9));
  const start = clean(Math.floor(lo / step + 1e-9) * step);
  const end = clean(Math.ceil(hi / step - 1e-9) * step);
  const ticks = [];
  for (let i = 0; start + i * step <= end + step / 2; i++) ticks.push(clean(start + i * step));
  return { lo: start, hi: end, ticks };
}

/** Which of `n` points get an x tick label: all when few, else about MAX_X_TICKS spread evenly (the
 * first and last always). */
export function tickIndices(n) {
  if (n <= MAX_X_TICKS) return [...Array(n).keys()];
  const every = Math.ceil((n - 1) / (MAX_X_TICKS - 1));
  const indices = [];
  for (let i = 0; i < n - 1; i += every) indices.push(i);
  if (n - 1 - indices[indices.length - 1] < every / 2) indices.pop();
  indices.push(n - 1);
  return indices;
}

/** The chart's geometry for the scored steps among `steps`, or null when none has a score. */
export function plotModel(steps, width = 320, height = 140) {
  const scored = steps.filter((s) => typeof s.score === "number");
  if (!scored.length) return null;
  const scores = scored.map((s) => s.score);
  const y = niceTicks(Math.min(...scores), Math.max(...scores));
  const left = MARGIN.left;
  const right = width - MARGIN.right;
  const top = MARGIN.top;
  const bottom = height - MARGIN.bottom;
  const xOf = (i) => (scored.length === 1 ? (left + right) / 2 : left + 8 + (i * (right - left - 16)) / (scored.length - 1));
  const yOf = (v) => bottom - ((v - y.lo) / (y.hi - y.lo)) * (bottom - top);
  return {
    width, height, left, right, top, bottom,
    points: scored.map((s, i) => ({ x: xOf(i), y: yOf(s.score), id: s.id, score: s.score })),
    xTicks: tickIndices(scored.length).map((i) => ({ x: xOf(i), text: `#${scored[i].id}` })),
    yTicks: y.ticks.map((v) => ({ y: yOf(v), text: String(v) })),
  };
}

export function scorePlot(doc, steps) {
  const m = plotModel(steps);
  if (!m) return null;
  const chart = svg(doc, "svg", { viewBox: `0 0 ${m.width} ${m.height}`, width: m.width, height: m.height,
    className: "tw-score-plot", role: "img",
    "aria-label": `Score over steps: ${m.points.map((p) => `#${p.id} ${p.score}`).join(", ")}` });
  chart.append(
    svg(doc, "line", { className: "tw-axis", x1: m.left, y1: m.bottom, x2: m.right, y2: m.bottom }),
    svg(doc, "line", { className: "tw-axis", x1: m.left, y1: m.top, x2: m.left, y2: m.bottom }));
  for (const tick of m.yTicks) {
    chart.append(svg(doc, "line", { className: "tw-tick", x1: m.left - 4, y1: tick.y, x2: m.left, y2: tick.y }),
      svg(doc, "text", { className: "tw-tick-label", x: m.left - 6, y: tick.y, "text-anchor": "end",
        "dominant-baseline": "middle" }, tick.text));
  }
  for (const tick of m.xTicks) {
    chart.append(svg(doc, "line", { className: "tw-tick", x1: tick.x, y1: m.bottom, x2: tick.x, y2: m.bottom + 4 }),
      svg(doc, "text", { className: "tw-tick-label", x: tick.x, y: m.bottom + 14, "text-anchor": "middle" },
        tick.text));
  }
  chart.append(
    svg(doc, "text", { className: "tw-axis-title", x: (m.left + m.right) / 2, y: m.height - 4,
      "text-anchor": "middle" }, "step"),
    svg(doc, "text", { className: "tw-axis-title", x: 12, y: (m.top + m.bottom) / 2, "text-anchor": "middle",
      transform: `rotate(-90 12 ${(m.top + m.bottom) / 2})` }, "score"),
    svg(doc, "polyline", { points: m.points.map((p) => `${p.x},${p.y}`).join(" ") }),
    ...m.points.map((p) => svg(doc, "circle", { cx: p.x, cy: p.y, r: 3 },
      svg(doc, "title", {}, `step #${p.id}: score ${p.score}`))));
  return chart;
}
