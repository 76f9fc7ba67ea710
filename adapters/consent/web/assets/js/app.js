// Client-side routing and the guards views share. One document for the whole app, so the keys
// in session.js survive moving between views (a full reload forgets them by design).

import { h, say, clearStatus, busy, field } from './dom.js';
import { state, isUnlocked, unlock, signOut } from './session.js';
import { WrongPasswordError } from './crypto.js';

/** @typedef {(main: HTMLElement, params: URLSearchParams) => Promise<void> | void} View */

/** @type {Record<string, View>} */
const routes = {};
/** @type {View} */
let notFound = () => {};
let renderSeq = 0;

/**
 * route registers the views (main.js); paths match the server's page routes.
 * @param {Record<string, View>} table
 * @param {View} fallback
 */
export function route(table, fallback) {
  Object.assign(routes, table);
  notFound = fallback;
}

/**
 * safeNext accepts only same-origin paths for "continue to" links: never //host or a scheme,
 * so a crafted sign-in link cannot bounce the user elsewhere.
 * @param {string | null} next
 * @returns {string | null}
 */
export function safeNext(next) {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return null;
  return next;
}

/**
 * navigate shows another view without reloading (keys stay in memory).
 * @param {string} path path and query
 * @param {{replace?: boolean, keepStatus?: boolean}} [opts]
 */
export function navigate(path, opts = {}) {
  if (opts.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  void render(opts.keepStatus);
}

/** @returns {string} the current path and query */
export function here() {
  return location.pathname + location.search;
}

/** render draws the view for the current URL. */
export async function render(keepStatus = false) {
  const seq = ++renderSeq;
  const main = /** @type {HTMLElement} */ (document.getElementById('main'));
  if (!keepStatus) clearStatus();
  drawNav();
  main.replaceChildren();
  const view = Object.hasOwn(routes, location.pathname) ? routes[location.pathname] : notFound;
  document.title = 'SVA';
  try {
    await view(main, new URLSearchParams(location.search));
  } catch (e) {
    if (seq !== renderSeq) return;
    say(/** @type {Error} */ (e).message || 'Something went wrong. Please reload the page.', 'error');
  }
  if (seq === renderSeq) main.focus({ preventScroll: true });
}

/** drawNav shows the account links that make sense for the current state. */
export function drawNav() {
  const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
  const link = (/** @type {string} */ href, /** @type {string} */ text) =>
    h('a', { href, 'data-link': true, 'aria-current': location.pathname === href ? 'page' : null }, text);
  if (!state.userId) {
    nav.replaceChildren(link('/signin', 'Sign in'), link('/signup', 'Create account'));
    return;
  }
  const out = h('button', { type: 'button', class: 'link-button', onclick: async () => {
    try {
      await signOut();
      navigate('/signin', { keepStatus: true });
      say('You are signed out.', 'success');
    } catch (e) {
      navigate('/signin', { keepStatus: true });
      say(`Signed out on this device. ${/** @type {Error} */ (e).message}`, 'error');
    }
  } }, 'Sign out');
  nav.replaceChildren(link('/vault', 'Vault'), link('/connections', 'Connected apps'), link('/sessions', 'Sessions'), out);
}

/**
 * requireSession sends a signed-out user to sign in, coming back here afterwards.
 * @returns {boolean} true when signed in
 */
export function requireSession() {
  if (state.userId) return true;
  navigate(`/signin?next=${encodeURIComponent(here())}`, { replace: true, keepStatus: true });
  return false;
}

/**
 * ensureUnlocked resolves once the vault is open, asking for the master password if the keys
 * were forgotten (after a reload). Resolves false if the view was left meanwhile.
 * @param {HTMLElement} main
 * @param {string} why one sentence: what unlocking is for
 * @returns {Promise<boolean>}
 */
export function ensureUnlocked(main, why) {
  if (isUnlocked()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const pw = field({ id: 'unlock-password', label: 'Master password', type: 'password', autocomplete: 'current-password', required: true });
    const form = /** @type {HTMLFormElement} */ (h('form', { class: 'card narrow', novalidate: true },
      h('h1', {}, 'Unlock your vault'),
      h('p', {}, why),
      pw.wrap,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Unlock'),
        h('a', { href: '/signin', 'data-link': true, class: 'secondary' }, 'Use another account'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!pw.input.value) { say('Enter your master password.', 'error'); pw.input.focus(); return; }
      say('Unlocking…');
      try {
        await busy(form, () => unlock(pw.input.value));
        pw.input.value = '';
        clearStatus();
        main.replaceChildren();
        resolve(true);
      } catch (e) {
        say(e instanceof WrongPasswordError ? 'That master password is not correct.' : /** @type {Error} */ (e).message, 'error');
        pw.input.select();
      }
    });
    main.replaceChildren(form);
    pw.input.focus();
  });
}
