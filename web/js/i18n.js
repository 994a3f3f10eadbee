// One table of strings per language, in web/i18n/<lang>.json. navigator.language
// picks the language, the switch in the header overrides it (localStorage).

export const LANGS = ['en', 'fr'];
const tables = {};
let lang = 'en';

export async function loadStrings() {
  await Promise.all(LANGS.map(async (l) => {
    const res = await fetch(`i18n/${l}.json`);
    tables[l] = await res.json();
  }));
  const saved = localStorage.getItem('lang');
  const nav = (navigator.language || 'en').slice(0, 2).toLowerCase();
  setLang(LANGS.includes(saved) ? saved : (LANGS.includes(nav) ? nav : 'en'), false);
}

export function setLang(l, remember = true) {
  lang = l;
  document.documentElement.lang = l;
  if (remember) localStorage.setItem('lang', l);
}

export const getLang = () => lang;
export const tableOf = (l) => tables[l];

/** The string `key` in the current language, with {name} placeholders
 * filled from vars. A missing key shows as ⟦key⟧ so tests catch it. */
export function t(key, vars = {}) {
  let s = tables[lang]?.[key];
  if (s === undefined && 'n' in vars) {
    // Plural forms: `key|one`, `key|other`, chosen by the language's rules for n.
    const form = new Intl.PluralRules(lang).select(Number(vars.n));
    s = tables[lang]?.[`${key}|${form}`] ?? tables[lang]?.[`${key}|other`];
  }
  if (s === undefined) {
    console.warn('missing string', lang, key);
    return `⟦${key}⟧`;
  }
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? show(vars[k]) : m));
}

/** A count in the language's digits and grouping: 23,862 or 23 862. */
export function num(n) {
  return new Intl.NumberFormat(lang).format(n);
}

// Numbers handed to t() are counts, shown grouped; identifiers such as a log
// index are handed over as strings and shown as they are.
const show = (v) => (typeof v === 'number' ? num(v) : String(v));

export function has(key) {
  return tables[lang]?.[key] !== undefined;
}

export function fmtTime(iso) {
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(iso));
}

/** "2 d 3 h", "5 min 10 s": the time left until `iso`, or null once passed. */
export function timeLeft(iso, now = Date.now()) {
  let s = Math.floor((new Date(iso).getTime() - now) / 1000);
  if (s <= 0) return null;
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const mm = Math.floor(s / 60); s -= mm * 60;
  if (d) return t('time.dh', { d, h: hh });
  if (hh) return t('time.hm', { h: hh, m: mm });
  if (mm) return t('time.ms', { m: mm, s });
  return t('time.s', { s });
}

export function pct(part, whole) {
  if (!whole) return new Intl.NumberFormat(lang, { style: 'percent' }).format(0);
  return new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1 }).format(part / whole);
}
