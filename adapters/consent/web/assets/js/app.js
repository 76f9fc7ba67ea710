// Client-side routing and the guards views share. One document for the whole app, so the keys
// in session.js survive moving between views (a full reload forgets them by design).

import { h, say, clearStatus, busy, field, showErrors } from './dom.js';
import { icon } from './icons.js';
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
  const out = h('button', { type: 'button', class: 'link-button', id: 'signout', onclick: async () => {
    // Signing out in the middle of a sign-in request keeps the request to come back to: the app
    // is still waiting for an answer, and the request may be answered after signing in again.
    const back = location.pathname === '/consent' ? `/signin?next=${encodeURIComponent(here())}` : '/signin';
    const pending = location.pathname === '/consent' ? ' Sign in again to answer the app\'s request.' : '';
    try {
      await signOut();
      navigate(back, { keepStatus: true });
      say(`You are signed out.${pending}`, 'success');
    } catch (e) {
      navigate(back, { keepStatus: true });
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
 * unlockForm asks for the master password and opens the vault with it. Views that need the vault
 * show it full-page (ensureUnlocked) or inside their own card (the consent screen, which says
 * what is being asked before it asks for the password).
 * @param {string} why one sentence: what unlocking is for
 * @param {() => void} onUnlocked called once the vault is open
 * @param {{title?: string, headingLevel?: 'h1' | 'h2'}} [opts]
 * @returns {{form: HTMLFormElement, focus: () => void}}
 */
export function unlockForm(why, onUnlocked, opts = {}) {
  const pw = field({ id: 'unlock-password', label: 'Master password', type: 'password', autocomplete: 'current-password', required: true });
  const form = /** @type {HTMLFormElement} */ (h('form', { class: opts.headingLevel === 'h2' ? 'unlock' : 'card narrow', id: 'unlock-form', novalidate: true },
    h(opts.headingLevel ?? 'h1', {}, icon('lock'), ' ', opts.title ?? 'Unlock your vault'),
    h('p', {}, why),
    pw.wrap,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Unlock'),
      h('a', { href: `/signin?next=${encodeURIComponent(here())}`, 'data-link': true, class: 'secondary' }, 'Use another account'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!showErrors(form, [pw], pw.input.value ? new Map() : new Map([[pw, 'Enter your master password.']]))) return;
    say('Unlocking…');
    try {
      await busy(form, () => unlock(pw.input.value));
      pw.input.value = '';
      clearStatus();
      onUnlocked();
    } catch (e) {
      clearStatus();
      showErrors(form, [pw], new Map([[pw, e instanceof WrongPasswordError ? 'That master password is not correct.' : /** @type {Error} */ (e).message]]));
      pw.input.select();
    }
  });
  return { form, focus: () => pw.input.focus() };
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
    const u = unlockForm(why, () => { main.replaceChildren(); resolve(true); });
    main.replaceChildren(u.form);
    u.focus();
  });
}
