// Side-by-side diff of two texts: changed lines, and the changed words inside them, highlighted.
import { diffArrays, diffWordsWithSpace } from "diff";

/** Rows [{left, right, kind}] pairing old and new lines; kind is "same", "changed", "removed" or "added". */
export function diffRows(oldText, newText) {
  const a = oldText.split("\n");
  const b = newText.split("\n");
  const rows = [];
  let removed = [];
  const flushRemoved = () => {
    for (const line of removed) rows.push({ left: line, right: null, kind: "removed" });
    removed = [];
  };
  for (const part of diffArrays(a, b)) {
    if (part.removed) {
      removed.push(...part.value);
    } else if (part.added) {
      const added = part.value;
      const paired = Math.min(removed.length, added.length);
      for (let i = 0; i < paired; i++) rows.push({ left: removed[i], right: added[i], kind: "changed" });
      for (const line of removed.slice(paired)) rows.push({ left: line, right: null, kind: "removed" });
      for (const line of added.slice(paired)) rows.push({ left: null, right: line, kind: "added" });
      removed = [];
    } else {
      flushRemoved();
      for (const line of part.value) rows.push({ left: line, right: line, kind: "same" });
    }
  }
  flushRemoved();
  return rows;
}

function cell(doc, text, side, oldLine, newLine) {
  const td = doc.createElement("td");
  td.className = "tw-diff-cell";
  if (text === null) {
    td.classList.add("tw-diff-empty");
    return td;
  }
  if (oldLine === null || newLine === null) {
    td.textContent = text;
    return td;
  }
  for (const part of diffWordsWithSpace(oldLine, newLine)) {
    if ((side === "left" && part.added) || (side === "right" && part.removed)) continue;
    const span = doc.createElement("span");
    span.textContent = part.value;
    if (part.added || part.removed) span.className = side === "left" ? "tw-word-del" : "tw-word-add";
    td.appendChild(span);
  }
  return td;
}

/** A table element showing `oldText` and `newText` side by side. */
export function diffTable(doc, oldText, newText) {
  const table = doc.createElement("table");
  table.className = "tw-diff";
  const head = table.createTHead().insertRow();
  for (const title of ["Current", "Proposed"]) {
    const th = doc.createElement("th");
    th.textContent = title;
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const row of diffRows(oldText, newText)) {
    const tr = body.insertRow();
    tr.className = `tw-row-${row.kind}`;
    const changed = row.kind === "changed";
    tr.appendChild(cell(doc, row.left, "left", changed ? row.left : null, changed ? row.right : null));
    tr.appendChild(cell(doc, row.right, "right", changed ? row.left : null, changed ? row.right : null));
  }
  return table;
}
