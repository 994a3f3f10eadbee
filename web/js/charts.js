// Inline SVG charts: tally bars, the hemicycle of deputies' seats, and the
// delegation graph of a scope. Each chart has a text alternative.

import { h, s, shortKey } from './dom.js';
import { num, t } from './i18n.js';

export const CHOICES = ['yes', 'no', 'abstain'];

/** Bars yes / no / abstain / lost (dead end + cycle) over N members, in
 * HTML: the count column is as wide as its longest number (never clipped,
 * up to 10^6 members and beyond, on a phone too); the bars take the rest. */
export function tallyBars(c) {
  const lost = (c.dead_end || 0) + (c.cycle || 0);
  const rows = [['yes', c.yes], ['no', c.no], ['abstain', c.abstain], ['lost', lost]];
  const max = Math.max(1, c.members || 0);
  return h('figure', { class: 'chart' },
    h('div', { class: 'bars' }, rows.map(([k, v]) => h('div', { class: `bar bar-${k}`, 'data-choice': k, 'data-value': v },
      h('span', { class: 'bar-label' }, t(`choice.${k}`)),
      h('span', { class: 'bar-track', 'aria-hidden': 'true' },
        h('span', { class: `bar-fill fill-${k}`, style: `width:${((100 * v) / max).toFixed(2)}%` })),
      h('span', { class: 'bar-value' }, num(v))))),
    h('figcaption', {}, t('chart.caption', {
      members: t('n.members', { n: c.members }), direct: c.direct, delegated: c.delegated, absent: c.absent,
      dead_end: c.dead_end, cycle: c.cycle,
    })));
}

/** Seats in rows of a half circle, left to right yes, abstain, no. */
export function hemicycle(instructions, mine = null, names = {}) {
  const n = instructions.length;
  if (!n) return h('p', {}, t('hemi.empty'));
  // One arc for a small roster; more rows, each with seats in proportion to its length, beyond.
  const rows = n < 12 ? 1 : Math.ceil(Math.sqrt(n / 3));
  const R = 100, r0 = 40;
  const radii = Array.from({ length: rows }, (_, i) => r0 + ((R - r0) * (i + 0.5)) / rows);
  const total = radii.reduce((a, b) => a + b, 0);
  const per = radii.map((r) => Math.floor((n * r) / total));
  let left = n - per.reduce((a, b) => a + b, 0);
  for (let i = rows - 1; left > 0; i = (i + rows - 1) % rows, left--) per[i]++;
  const seats = [];
  radii.forEach((r, i) => {
    for (let j = 0; j < per[i]; j++) {
      const a = Math.PI - (Math.PI * (j + 0.5)) / per[i];
      seats.push({ a, x: 110 + r * Math.cos(a), y: 108 - r * Math.sin(a) });
    }
  });
  seats.sort((p, q) => q.a - p.a);
  const order = { yes: 0, abstain: 1, no: 2 };
  const sorted = [...instructions].sort((p, q) => order[p.choice] - order[q.choice]);
  const dot = Math.max(2.5, Math.min(9, 60 / Math.sqrt(n) / rows));
  const counts = CHOICES.map((c) => `${t(`choice.${c}`)} ${num(instructions.filter((i) => i.choice === c).length)}`).join(', ');
  // Each seat is named (deputy and instruction): a tooltip on hover, the same
  // line under the chart on focus, and a table beside it for screen readers.
  const label = (ins) => t('hemi.seat', { name: names[ins.deputy] || shortKey(ins.deputy), choice: t(`choice.${ins.choice}`) });
  const focused = h('p', { class: 'seat-focus muted', id: 'seat-focus', 'aria-hidden': 'true' }, '\u00a0');
  const show = (text) => () => { focused.textContent = text; };
  const table = h('table', { class: 'hemi-table', id: 'hemi-table' },
    h('caption', {}, t('hemi.table')),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('hemi.deputy')), h('th', { scope: 'col' }, t('hemi.instruction')))),
    h('tbody', {}, instructions.map((ins) => h('tr', { 'data-deputy': ins.deputy, 'data-choice': ins.choice },
      h('td', {}, h('a', { href: `#/member/${ins.deputy}` }, names[ins.deputy] || shortKey(ins.deputy))),
      h('td', {}, t(`choice.${ins.choice}`))))));
  return h('div', { class: 'hemi-wrap' }, h('figure', { class: 'chart' },
    s('svg', { viewBox: '0 0 220 116', class: 'hemicycle', role: 'group', 'aria-label': t('hemi.label', { counts }) },
      seats.map((p, i) => s('circle', {
        cx: p.x.toFixed(2), cy: p.y.toFixed(2), r: dot.toFixed(2),
        class: `seat fill-${sorted[i].choice}${sorted[i].deputy === mine ? ' seat-mine' : ''}`,
        'data-choice': sorted[i].choice, 'data-deputy': sorted[i].deputy,
        role: 'img', 'aria-label': label(sorted[i]), tabindex: 0,
        onfocus: show(label(sorted[i])), onmouseenter: show(label(sorted[i])),
      }, s('title', {}, label(sorted[i]))))),
    h('figcaption', {}, counts), focused), h('div', { class: 'scroll' }, table));
}

/** Circular layout of the delegation graph: node size by weight, edges of
 * cycles in the alarm colour. `g` is GET /api/graph's answer. */
export function delegationGraph(g, names = {}) {
  const nodes = new Set();
  for (const [a, b] of g.edges) { nodes.add(a); nodes.add(b); }
  for (const k of Object.keys(g.weights || {})) if ((g.weights[k] || 0) > 1) nodes.add(k);
  const list = [...nodes].sort();
  if (!list.length) return h('p', { class: 'muted' }, t('graph.empty'));
  const cycleEdges = new Set();
  for (const cy of g.cycles || []) cy.forEach((k, i) => cycleEdges.add(`${k}>${cy[(i + 1) % cy.length]}`));
  const inCycle = new Set((g.cycles || []).flat());
  // The circle grows with the number of members so that labels do not collide;
  // the margins M leave room for the labels outside it.
  const W = Math.max(400, 20 * list.length), M = 140, C = W / 2, R = list.length === 1 ? 0 : W / 2 - 40;
  const pos = new Map(list.map((k, i) => {
    const a = (2 * Math.PI * i) / list.length - Math.PI / 2;
    return [k, { x: C + R * Math.cos(a), y: C + R * Math.sin(a) }];
  }));
  const radius = (k) => 8 + 4 * Math.sqrt(g.weights?.[k] || 1);
  const label = (k) => names[k] || shortKey(k);
  const edges = g.edges.map(([a, b]) => {
    const p = pos.get(a), q = pos.get(b);
    const dx = q.x - p.x, dy = q.y - p.y, d = Math.hypot(dx, dy) || 1;
    const rb = radius(b) + 4, ra = radius(a);
    const cyc = cycleEdges.has(`${a}>${b}`);
    return s('line', {
      x1: (p.x + (dx * ra) / d).toFixed(1), y1: (p.y + (dy * ra) / d).toFixed(1),
      x2: (q.x - (dx * rb) / d).toFixed(1), y2: (q.y - (dy * rb) / d).toFixed(1),
      class: cyc ? 'edge edge-cycle' : 'edge', 'marker-end': cyc ? 'url(#arrow-cycle)' : 'url(#arrow)',
    }, s('title', {}, `${label(a)} → ${label(b)}`));
  });
  const marker = (id, cls) => s('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
    s('path', { d: 'M0,0 L10,5 L0,10 z', class: cls }));
  const svg = s('svg', { viewBox: `${-M} -30 ${W + 2 * M} ${W + 60}`, class: 'graph', role: 'img',
    'aria-label': t('graph.label', { nodes: t('n.members', { n: list.length }), edges: t('n.delegations', { n: g.edges.length }),
      cycles: t('n.cycles', { n: (g.cycles || []).length }) }) },
  s('defs', {}, marker('arrow', 'arrow'), marker('arrow-cycle', 'arrow-cycle')),
  edges,
  list.map((k) => {
    const p = pos.get(k);
    return s('g', { class: `node${inCycle.has(k) ? ' node-cycle' : ''}`, 'data-key': k },
      s('circle', { cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: radius(k).toFixed(1) }),
      labelAt(p, radius(k), C, `${label(k)} (${num(g.weights?.[k] || 0)})`));
  }));
  return h('figure', { class: 'chart' }, svg);
}

/** A node's label outside its circle, on the side away from the centre. */
function labelAt(p, r, C, text) {
  let dx = p.x - C, dy = p.y - C;
  const d = Math.hypot(dx, dy);
  if (d < 1) { dx = 0; dy = 1; } else { dx /= d; dy /= d; }
  const anchor = dx > 0.3 ? 'start' : dx < -0.3 ? 'end' : 'middle';
  return s('text', { x: (p.x + dx * (r + 6)).toFixed(1), y: (p.y + dy * (r + 10) + 4).toFixed(1), 'text-anchor': anchor }, text);
}
