// A tiny DOM builder: h('p', {class: 'x', onclick}, 'text', child, [more]).

const SVG = 'http://www.w3.org/2000/svg';

// Links: only our own routes and http(s) URLs are rendered as links
// (docs/SECURITY.md); a `javascript:`, `data:` or other href is dropped.
const SAFE_HREF = /^(?:https?:\/\/|#|\/(?!\/)|\?)/i;
export const safeHref = (url) => typeof url === 'string' && SAFE_HREF.test(url);

function build(el, attrs, children, svg) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'href' && !safeHref(String(v))) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (!svg && k in el && typeof v !== 'string' && k !== 'list') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children, false);
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVG, tag), attrs, children, true);

export function shortKey(key) {
  return key ? `${key.slice(0, 8)}…` : '';
}

/** Replaces el's children, skipping null / undefined / false like h() does. */
export function fill(el, ...children) {
  el.replaceChildren();
  return build(el, {}, children, false);
}
