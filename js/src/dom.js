// Building elements: h(doc, tag, attrs, ...children) for HTML and svg(...) for SVG. Attributes named
// on<event> become listeners; null, undefined and false attributes and children are left out.
const SVG = "http://www.w3.org/2000/svg";

function fill(doc, el, attrs, children) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "className") el.setAttribute("class", value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "string" ? doc.createTextNode(child) : child);
  }
  return el;
}

export function h(doc, tag, attrs = {}, ...children) {
  return fill(doc, doc.createElement(tag), attrs, children);
}

export function svg(doc, tag, attrs = {}, ...children) {
  return fill(doc, doc.createElementNS(SVG, tag), attrs, children);
}
