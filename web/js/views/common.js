// Pieces shared by the views: headings, forms, key-required notices.

import { h, shortKey } from '../dom.js';
import { t } from '../i18n.js';

export const page = (title, ...children) => h('section', {}, h('h1', { tabindex: -1 }, title), ...children);

export const msg = () => h('p', { class: 'msg', role: 'alert' });

let ids = 0;
/** A labelled input: field('invite.count', {type: 'number', name: 'count'}). */
export function field(labelKey, attrs = {}, hintKey = null) {
  const id = attrs.id || `f${++ids}`;
  const hint = hintKey ? h('small', { id: `${id}-hint`, class: 'hint' }, t(hintKey)) : null;
  const control = attrs.tag === 'textarea' ? h('textarea', { ...attrs, tag: null, id, 'aria-describedby': hint ? `${id}-hint` : null })
    : attrs.tag === 'select' ? h('select', { ...attrs, tag: null, options: null, id, 'aria-describedby': hint ? `${id}-hint` : null },
      (attrs.options || []).map(([v, label]) => h('option', { value: v }, label)))
      : h('input', { ...attrs, id, 'aria-describedby': hint ? `${id}-hint` : null });
  return h('div', { class: 'field' }, h('label', { for: id }, t(labelKey)), control, hint);
}

export function who(app, key) {
  if (!key) return '—';
  const name = app.name(key);
  return h('span', { class: 'who', title: key }, name ? `${name} ` : '', h('code', {}, shortKey(key)));
}

/** Shown when an action needs a key this browser does not have, or membership. */
export function needKey(app) {
  if (!app.me) {
    return h('div', { class: 'card notice' }, h('p', {}, t('key.none')),
      h('p', {}, h('a', { class: 'button', href: '#/key' }, t('key.go_create'))));
  }
  if (!app.isMember()) {
    return h('div', { class: 'card notice' }, h('p', {}, t('member.not_yet')),
      h('p', {}, h('a', { class: 'button', href: '#/join' }, t('member.go_join'))));
  }
  return null;
}

export function choiceLabel(c) {
  return c === null || c === undefined ? t('choice.none') : t(`choice.${c}`);
}
