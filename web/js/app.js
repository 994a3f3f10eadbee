// The shell: header, language switch, hash router, live events, shared state.

import { api, ApiError } from './api.js';
import { h } from './dom.js';
import { getLang, has, loadStrings, LANGS, setLang, t } from './i18n.js';
import { KeyError, loadKey } from './keys.js';
import { ProofError } from './merkle.js';
import * as member from './views/member.js';
import * as bills from './views/bills.js';
import * as org from './views/org.js';
import * as deputy from './views/deputy.js';

const ROUTES = {
  '': member.home,
  key: member.keyPage,
  join: member.join,
  bills: bills.list,
  bill: bills.bill,
  delegations: member.delegations,
  graph: member.graph,
  receipts: member.receipts,
  deputy: deputy.page,
  entry: deputy.entry,
  org: org.page,
  found: org.found,
};

const app = {
  server: null,
  me: null,
  member: null,
  cleanups: [],
  names: {},

  async refresh() {
    this.server = await api.server();
    this.me = (await loadKey()) || null;
    this.member = null;
    if (this.me && this.server.assembly) {
      try { this.member = await api.member(this.me.pub); } catch (e) { this.member = null; }
    }
  },

  async loadNames() {
    try {
      const { members } = await api.members();
      this.names = Object.fromEntries(members.map((m) => [m.key, m.name]));
      return members;
    } catch (e) {
      return [];
    }
  },

  isMember() { return !!(this.member && this.member.active); },
  isOrganizer() { return !!(this.member && this.member.organizer); },

  go(hash) { if (location.hash === hash) render(); else location.hash = hash; },

  say(msg) {
    const el = document.getElementById('status');
    el.textContent = '';
    setTimeout(() => { el.textContent = msg; }, 30);
  },

  /** A readable sentence, in the user's language, for any error we raise. */
  errorText(e) {
    if (e instanceof ApiError) {
      const key = `problem.${e.code}`;
      return has(key) ? t(key) : t('problem.other', { status: e.status, detail: e.detail || e.code });
    }
    if (e instanceof KeyError) return t(`keyerr.${e.code}`);
    if (e instanceof ProofError) return t(`prooferr.${e.code}`) + (e.detail ? ` (${e.detail})` : '');
    return t('problem.unexpected', { detail: String(e && e.message ? e.message : e) });
  },

  /** Runs fn while the button is busy; shows errors in `out` (role=alert). */
  async act(button, out, fn) {
    if (out) { out.textContent = ''; out.className = 'msg'; }
    if (button) button.disabled = true;
    try {
      return await fn();
    } catch (e) {
      console.error(e);
      if (out) { out.textContent = this.errorText(e); out.className = 'msg error'; }
      return undefined;
    } finally {
      if (button) button.disabled = false;
    }
  },

  name(key) { return this.names[key] || null; },

  // Live updates: one EventSource for the page, re-dispatched as window
  // events; views subscribe with onLive and set timers with every/after, all
  // undone when the next page renders (views receive the app, never import it).
  listen() {
    const es = new EventSource('/api/events');
    for (const kind of ['entry', 'tally']) {
      es.addEventListener(kind, (ev) => {
        let data;
        try { data = JSON.parse(ev.data); } catch (e) { return; }
        window.dispatchEvent(new CustomEvent(`lm:${kind}`, { detail: data }));
      });
    }
    es.onopen = () => { document.body.dataset.live = 'on'; };
    es.onerror = () => { document.body.dataset.live = 'off'; };
  },

  onLive(kind, fn) {
    const handler = (ev) => fn(ev.detail);
    window.addEventListener(`lm:${kind}`, handler);
    this.cleanups.push(() => window.removeEventListener(`lm:${kind}`, handler));
  },

  every(ms, fn) {
    const id = setInterval(fn, ms);
    this.cleanups.push(() => clearInterval(id));
  },

  after(ms, fn) {
    const id = setTimeout(fn, ms);
    this.cleanups.push(() => clearTimeout(id));
  },
};

function navItems() {
  const items = [['#/', 'nav.home']];
  if (!app.server?.assembly) items.push(['#/found', 'nav.found']);
  else {
    items.push(['#/bills', 'nav.bills'], ['#/delegations', 'nav.delegations'], ['#/graph', 'nav.graph'],
      ['#/receipts', 'nav.receipts'], ['#/deputy', 'nav.deputy']);
    if (app.isOrganizer()) items.push(['#/org', 'nav.org']);
  }
  items.push(['#/key', 'nav.key']);
  return items;
}

function header() {
  const current = `#/${location.hash.replace(/^#\/?/, '').split('/')[0]}`;
  const other = LANGS.find((l) => l !== getLang());
  return [
    h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); document.getElementById('main').focus(); } }, t('nav.skip')),
    h('div', { class: 'bar-top' },
      h('a', { class: 'brand', href: '#/' }, t('app.name')),
      app.server?.name ? h('span', { class: 'assembly-name' }, app.server.name) : null,
      // The visible name (in its own language) starts the accessible name,
      // so voice control users can say what they see (WCAG 2.5.3).
      h('button', {
        type: 'button', class: 'lang', id: 'lang-switch',
        onclick: () => { setLang(other); render(); },
      }, h('span', { lang: other }, t(`lang.${other}`)), h('span', { class: 'sr-only' }, ` — ${t('lang.switch_label')}`))),
    h('nav', { 'aria-label': t('nav.label') },
      h('ul', {}, navItems().map(([href, key]) => h('li', {},
        h('a', { href, 'aria-current': href === current ? 'page' : null }, t(key)))))),
  ];
}

let rendering = 0;
async function render() {
  const ticket = ++rendering;
  for (const fn of app.cleanups.splice(0)) { try { fn(); } catch (e) { /* ignore */ } }
  const [route, ...params] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const view = ROUTES[route] || member.notFound;
  const main = document.getElementById('main');
  main.setAttribute('aria-busy', 'true');
  try {
    await app.refresh();
  } catch (e) {
    document.getElementById('top').replaceChildren(...header());
    main.replaceChildren(h('h1', { tabindex: -1 }, t('app.name')), h('p', { class: 'msg error', role: 'alert' }, app.errorText(e)));
    main.removeAttribute('aria-busy');
    return;
  }
  let node;
  try {
    node = await view(app, params);
  } catch (e) {
    console.error(e);
    node = h('div', {}, h('h1', { tabindex: -1 }, t('app.name')), h('p', { class: 'msg error', role: 'alert' }, app.errorText(e)));
  }
  if (ticket !== rendering) return;
  document.getElementById('top').replaceChildren(...header());
  main.replaceChildren(node);
  main.removeAttribute('aria-busy');
  document.title = `${main.querySelector('h1')?.textContent || ''} — ${t('app.name')}`;
  const h1 = main.querySelector('h1');
  if (h1 && render.moved) { h1.setAttribute('tabindex', '-1'); h1.focus({ preventScroll: false }); }
  render.moved = true;
  document.body.dataset.ready = route || 'home';
}

async function start() {
  await loadStrings();
  window.addEventListener('hashchange', render);
  app.listen();
  await render();
}

start();
