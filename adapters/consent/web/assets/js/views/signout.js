// The sign-out page of RP-initiated logout: an app sent the browser to the provider's
// end-session endpoint, which sent it here. When the app proved it speaks for the signed-in
// person (its ID token names them) the browser is signed out at once; otherwise the person is
// asked first. Afterwards the browser returns to the app, or this page says it is signed out.

import { h, say, busy, logo } from '../dom.js';
import { drawNav } from '../app.js';
import { api, ApiError, UNAVAILABLE } from '../api.js';
import { signedOut } from '../session.js';
import { icon } from '../icons.js';

/**
 * Core's bodies (generated from openapi/core.yaml; JSDoc only).
 * @typedef {import('../api.js').CoreSchemas} Core
 * @typedef {Core['LogoutRequestOutputBody']} Request
 * @typedef {Core['LogoutConfirmOutputBody']} Confirmed
 */

/**
 * problem explains why a sign-out link cannot be used.
 * @param {unknown} e
 * @returns {{title: string, text: string}}
 */
function problem(e) {
  const code = e instanceof ApiError ? e.code : '';
  const status = e instanceof ApiError ? e.status : 0;
  if (code === 'request_expired') return { title: 'This sign-out request has expired', text: 'Sign-out requests last 10 minutes. Go back to the app and sign out again.' };
  if (code === 'request_not_pending') return { title: 'This sign-out request was already used', text: 'You were signed out then. Go back to the app.' };
  if (status === 0 || status >= 500) return { title: 'SVA is temporarily unavailable', text: UNAVAILABLE };
  return { title: 'We could not find this sign-out request', text: 'The link may be incomplete or already used. Go back to the app and sign out again.' };
}

/**
 * card shows one message.
 * @param {HTMLElement} main
 * @param {string} iconName
 * @param {string} title
 * @param {string} text
 * @param {'error' | 'info' | 'success'} kind status kind for screen readers
 */
function card(main, iconName, title, text, kind) {
  document.title = `${title} · SVA`;
  main.replaceChildren(h('section', { class: `card narrow${kind === 'error' ? ' problem' : ''}` },
    h('h1', {}, icon(iconName), ' ', title), h('p', {}, text)));
  say(title, kind, { quiet: true });
}

/**
 * leave sends the browser back to the app. The address comes from the provider via Core and is
 * one the app registered; refusing script-capable schemes is a last guard.
 * @param {string} url
 */
function leave(url) {
  let u;
  try { u = new URL(url); } catch { throw new Error('The app sent an address we cannot open.'); }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('The app sent an address we cannot open.');
  location.assign(u.href);
}

/**
 * confirm signs the browser out and goes on.
 * @param {HTMLElement} main
 * @param {string} id
 */
async function confirm(main, id) {
  /** @type {Confirmed} */
  const done = await api('POST', `/logout/${encodeURIComponent(id)}/confirm`);
  signedOut();
  drawNav();
  if (done.redirect_uri) {
    card(main, 'check', 'You are signed out', 'Taking you back to the app…', 'success');
    leave(done.redirect_uri);
    return;
  }
  card(main, 'check', 'You are signed out', 'You are signed out of SVA in this browser, and the apps you use with SVA have been told. You can close this page.', 'success');
}

/** @type {import('../app.js').View} */
export async function signOutView(main, params) {
  document.title = 'Sign out · SVA';
  const id = params.get('logout_request_id') ?? '';
  if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) {
    card(main, 'alert', 'This sign-out link is incomplete', 'Go back to the app and sign out again.', 'error');
    return;
  }
  main.append(h('p', { class: 'loading' }, 'Loading the sign-out request…'));
  /** @type {Request} */
  let r;
  try {
    r = await api('GET', `/logout/${encodeURIComponent(id)}`);
  } catch (e) {
    const p = problem(e);
    card(main, 'alert', p.title, p.text, 'error');
    return;
  }
  if (r.status !== 'pending') {
    const p = problem(new ApiError(400, r.status === 'expired' ? 'request_expired' : 'request_not_pending', ''));
    card(main, 'alert', p.title, p.text, 'error');
    return;
  }
  const app = r.client?.name ?? 'An app';
  if (!r.needs_confirmation) {
    // The app proved it speaks for the signed-in person, or nobody is signed in here.
    main.replaceChildren(h('p', { class: 'loading' }, 'Signing you out…'));
    try {
      await confirm(main, id);
    } catch (e) {
      const p = problem(e);
      card(main, 'alert', p.title, p.text, 'error');
    }
    return;
  }
  document.title = 'Sign out? · SVA';
  const yes = h('button', { type: 'button', class: 'primary' }, 'Sign out');
  const no = h('button', { type: 'button' }, 'Stay signed in');
  const question = h('section', { class: 'card narrow', 'aria-labelledby': 'signout-title' },
    r.client ? logo(r.client.logo, r.client.name) : null,
    h('h1', { id: 'signout-title' }, 'Sign out of SVA?'),
    h('p', {}, `${app} asks to sign you out of SVA in this browser. The apps you use with SVA will be told you signed out.`),
    h('div', { class: 'actions' }, yes, no));
  main.replaceChildren(question);
  yes.addEventListener('click', async () => {
    try {
      await busy(question, () => confirm(main, id));
    } catch (e) {
      const p = problem(e);
      say(`${p.title}. ${p.text}`, 'error');
    }
  });
  no.addEventListener('click', () => {
    card(main, 'info', 'You are still signed in', 'Nothing changed. You can close this page or go back to the app.', 'info');
  });
}
