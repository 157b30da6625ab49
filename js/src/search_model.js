// Pure logic of the search view (no DOM): the lineage tree's layout, the Pareto plot's points, numbers
// as shown. Tested with `node --test` (js/test/search_model.test.js).

/** Candidates' depth in the lineage tree (the starting point is 0), by id. */
export function depths(rows) {
  const byId = new Map(rows.map((row) => [row.id, row]));
  const depth = new Map();
  const of = (id) => {
    if (depth.has(id)) return depth.get(id);
    const row = byId.get(id);
    const d = row && row.parent !== null && byId.has(row.parent) ? of(row.parent) + 1 : 0;
    depth.set(id, d);
    return d;
  };
  for (const row of rows) of(row.id);
  return depth;
}

/**
 * The lineage tree laid out left to right: x is the depth, y the row (children under their parent, in id
 * order, each leaf on its own row). Returns {nodes: [{id, x, y}], edges: [{from, to}], width, height}.
 */
export function treeLayout(rows) {
  const ids = new Set(rows.map((row) => row.id));
  const children = new Map();
  const roots = [];
  for (const row of [...rows].sort((a, b) => a.id - b.id)) {
    if (row.parent === null || !ids.has(row.parent)) roots.push(row.id);
    else children.set(row.parent, [...(children.get(row.parent) ?? []), row.id]);
  }
  const depth = depths(rows);
  const nodes = [];
  let next = 0;
  const place = (id) => {
    const kids = children.get(id) ?? [];
    let y;
    if (kids.length === 0) {
      y = next++;
    } else {
      const ys = kids.map(place);
      y = (ys[0] + ys[ys.length - 1]) / 2;
    }
    nodes.push({ id, x: depth.get(id), y });
    return y;
  };
  for (const root of roots) place(root);
  nodes.sort((a, b) => a.id - b.id);
  const edges = rows.filter((row) => row.parent !== null && ids.has(row.parent))
    .map((row) => ({ from: row.parent, to: row.id }));
  const width = nodes.length ? Math.max(...nodes.map((n) => n.x)) + 1 : 0;
  return { nodes, edges, width, height: next };
}

/** Points for a plot of two metrics: [{id, x, y, front}] for the candidates that have both. */
export function frontPoints(rows, xMetric, yMetric) {
  return rows
    .filter((row) => row.metrics && Number.isFinite(row.metrics[xMetric]) && Number.isFinite(row.metrics[yMetric]))
    .map((row) => ({ id: row.id, x: row.metrics[xMetric], y: row.metrics[yMetric], front: Boolean(row.front) }));
}

/** The metric names found in any row, sorted. */
export function metricNames(rows) {
  return [...new Set(rows.flatMap((row) => Object.keys(row.metrics ?? {})))].sort();
}

/** A number as the table shows it: 3 significant digits, "-" for none. */
export function shown(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "-";
  return Number(value.toPrecision(3)).toString();
}
