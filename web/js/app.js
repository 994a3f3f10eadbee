// The shell: header, language switch, hash router, live events, shared state.

import { api, ApiError } from './api.js';
import { h } from './dom.js';
import { getLang, has, loadStrings, LANGS, setLang, t } from './i18n.js';
import { KeyError, loadKey } from './keys.js';
import { listKeys, useKey } from './store.js';
import { ProofError } from './merkle.js';
import { watchConsistency } from './consistency.js';
import * as member from './views/member.js';
import * as bills from './views/bills.js';
import * as org from './views/org.js';
import * as deputy from './views/deputy.js';
import * as compliance from './views/compliance.js';
import * as debate from './views/debate.js';
import * as proposals from './views/proposals.js';
import * as draws from './views/draws.js';
import * as people from './views/people.js';

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
  deputies: people.deputies,
  member: people.member,
  compliance: compliance.page,
  proposals: proposals.list,
  proposal: proposals.proposal,
  draws: draws.list,
  draw: draws.draw,
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
  said: {},
  entries: null,
  pendingDone: null,
  // Sections other views add to a page (views never import each other).
  sections: { bill: [debate.billSection], delegations: [debate.delegateArguments] },

  async refresh() {
    this.server = await api.server();
    this.me = (await loadKey()) || null;
    this.keys = await listKeys();
    if (this.keys.length > 1 && this.server.assembly) await this.learnNames(this.keys.map((k) => k.pub));
    this.member = null;
    this.entries = null;
    if (this.me && this.server.assembly) {
      try { this.member = await api.member(this.me.pub); } catch (e) { this.member = null; }
      if (this.member) this.names[this.me.pub] = this.member.name || null;
    }
  },

  /** Names of the members behind these keys, a hundred per request
   * (GET /api/members?keys=), so that no page downloads the whole member
   * list to name the few members it shows. */
  async learnNames(keys) {
    // A key seen before it joined has no name yet: asked again until it has one.
    const missing = [...new Set(keys)].filter((k) => typeof k === 'string' && /^[0-9a-f]{64}$/.test(k) && !this.names[k]);
    const parts = [];
    for (let i = 0; i < missing.length; i += 100) parts.push(missing.slice(i, i + 100));
    await Promise.all(parts.map(async (part) => {
      let members = [];
      try { ({ members } = await api.membersNamed(part)); } catch (e) { /* unnamed for now */ }
      for (const k of part) this.names[k] = null;
      for (const m of members) this.names[m.key] = m.name || null;
    }));
  },

  /** The entries my key signed, from the public log (this page's view of it). */
  async myEntries() {
    if (!this.me || !this.server?.assembly) return [];
    if (!this.entries) this.entries = (await api.memberEntries(this.me.pub)).entries;
    return this.entries;
  },

  isMember() { return !!(this.member && this.member.active); },
  isOrganizer() { return !!(this.member && this.member.organizer); },

  go(hash) { if (location.hash === hash) render(); else location.hash = hash; },

  /** After an action that changes the page: announce `msg`, go to `hash`,
   * show `msg` there where the person acted (inside the form `at`, or under
   * the heading) and put the focus back on the control used: the form's
   * submit button, else the message itself. */
  done(hash, msg, at = null) {
    this.say(msg);
    this.pendingDone = { msg, at };
    this.go(hash);
  },

  say(msg) {
    const el = document.getElementById('status');
    el.textContent = '';
    setTimeout(() => { el.textContent = msg; }, 30);
  },

  /** say(), but at most once every `interval` ms for the same `tag`. */
  sayNow(tag, msg, interval) {
    const now = Date.now();
    if (now - (this.said[tag] || 0) < interval) return;
    this.said[tag] = now;
    this.say(msg);
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

  /** Runs fn while the button is busy; shows errors in `out` (role=alert),
   * with "Try again" when trying again may succeed. The button is marked
   * aria-disabled, not disabled: a disabled button drops the focus to the
   * page, and a keyboard user would lose their place until fn ends. A press
   * while busy is ignored (no double submission). */
  async act(button, out, fn) {
    if (button && button.getAttribute('aria-disabled') === 'true') return undefined;
    if (out) { out.replaceChildren(); out.className = 'msg'; }
    if (button) button.setAttribute('aria-disabled', 'true');
    try {
      return await fn();
    } catch (e) {
      console.error(e);
      if (out) {
        out.className = 'msg error';
        out.append(this.errorText(e));
        if (retryable(e)) {
          out.append(' ', h('button', { type: 'button', class: 'small retry', onclick: () => {
            if (button) button.focus();
            this.act(button, out, fn);
          } }, t('action.retry')));
        }
      }
      return undefined;
    } finally {
      if (button) button.removeAttribute('aria-disabled');
    }
  },

  name(key) { return this.names[key] || null; },

  // Live updates: one EventSource for the page, re-dispatched as window
  // events; views subscribe with onLive and set timers with every/after, all
  // undone when the next page renders (views receive the app, never import it).
  // A lost connection is retried with backoff (1 s, doubling, at most 30 s);
  // the page says so while it lasts, and views hear `reconnect` after it.
  listen() {
    let delay = 1000;
    let paused = null;
    const show = (off) => {
      const el = document.getElementById('live-status');
      el.textContent = off ? t('live.paused') : '';
      el.hidden = !off;
    };
    const connect = () => {
      const es = new EventSource('/api/events');
      for (const kind of ['entry', 'tally']) {
        es.addEventListener(kind, (ev) => {
          let data;
          try { data = JSON.parse(ev.data); } catch (e) { return; }
          window.dispatchEvent(new CustomEvent(`lm:${kind}`, { detail: data }));
        });
      }
      es.onopen = () => {
        const wasOff = document.body.dataset.live === 'off';
        document.body.dataset.live = 'on';
        delay = 1000;
        clearTimeout(paused);
        show(false);
        if (wasOff) window.dispatchEvent(new CustomEvent('lm:reconnect', { detail: {} }));
      };
      es.onerror = () => {
        es.close();
        document.body.dataset.live = 'off';
        clearTimeout(paused);
        paused = setTimeout(() => show(true), 1500);  // a blip is not worth a message
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30000);
      };
    };
    connect();
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

/** Retrying helps when the server or the network failed, not when it refused. */
function retryable(e) {
  return e instanceof ApiError && (e.status === 0 || e.status >= 500 || e.code === 'replayed_seq');
}

/** The menu: what a visitor can use, then what a key and membership open. */
function navItems() {
  const items = [['#/', 'nav.home']];
  if (!app.server?.assembly) items.push(['#/found', 'nav.found']);
  else {
    items.push(['#/bills', 'nav.bills']);
    items.push(['#/proposals', 'nav.proposals']);
    if (app.isMember()) items.push(['#/member', 'nav.my_page'], ['#/delegations', 'nav.delegations']);
    items.push(['#/graph', 'nav.graph']);
    if (app.me) items.push(['#/receipts', 'nav.receipts']);
    if (app.isMember()) items.push(['#/deputy', 'nav.deputy']);
    items.push(['#/deputies', 'nav.deputies']);
    items.push(['#/draws', 'nav.draws']);
    items.push(['#/compliance', 'nav.compliance']);
    if (app.isOrganizer()) items.push(['#/org', 'nav.org']);
    if (!app.member?.member) items.push(['#/join', 'nav.join']);
  }
  items.push(['#/key', 'nav.key']);
  return items;
}

/** With several keys in this browser (an organizer who is also a member),
 * the one in use is always shown and can be changed from any page. */
function keySwitch() {
  if (app.keys.length < 2) return null;
  const label = (k) => (app.name(k.pub) ? `${app.name(k.pub)} (${k.pub.slice(0, 8)}…)` : `${k.pub.slice(0, 8)}…`);
  return h('span', { class: 'key-switch' }, h('label', { for: 'key-switch' }, t('keys.in_use')),
    h('select', { id: 'key-switch', onchange: async (e) => { await useKey(e.target.value); app.say(t('keys.switched', { key: label({ pub: e.target.value }) })); render(); } },
      app.keys.map((k) => h('option', { value: k.pub, selected: k.pub === app.me?.pub }, label(k)))));
}

function header() {
  const current = `#/${location.hash.replace(/^#\/?/, '').split('/')[0]}`;
  const other = LANGS.find((l) => l !== getLang());
  return [
    h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); document.getElementById('main').focus(); } }, t('nav.skip')),
    h('div', { class: 'bar-top' },
      h('a', { class: 'brand', href: '#/' }, t('app.name')),
      app.server?.name ? h('span', { class: 'assembly-name' }, app.server.name) : null,
      keySwitch(),
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
  const pending = app.pendingDone;
  app.pendingDone = null;
  if (pending) showDone(main, pending);
  else if (h1 && render.moved) { h1.setAttribute('tabindex', '-1'); h1.focus({ preventScroll: false }); }
  render.moved = true;
  document.body.dataset.ready = route || 'home';
}

function showDone(main, { msg, at }) {
  const target = (at && main.querySelector(at)) || null;
  const note = h('p', { class: 'msg ok done-note', tabindex: -1 }, msg);
  if (!target) main.querySelector('h1')?.after(note);
  else if (target.firstElementChild?.tagName === 'H2') target.firstElementChild.after(note);
  else target.prepend(note);
  const control = target?.tagName === 'FORM' ? target.querySelector('[type=submit]') : null;
  (control || note).focus();
}

async function start() {
  await loadStrings();
  window.addEventListener('hashchange', render);
  app.listen();
  await render();
  watchConsistency();  // DESIGN 9.1: is the log this browser saw still the start of this one?
}

start();
