// The "Connect a device" page (RFC 8628): the person types the code their device shows — or opens
// the device's link, which carries it, and confirms — and then sees the usual consent screen for
// that device's request.

import { h, say, busy, field } from '../dom.js';
import { requireSession, navigate } from '../app.js';
import { api, ApiError, UNAVAILABLE } from '../api.js';
import { state } from '../session.js';

/**
 * Core's bodies (generated from openapi/core.yaml; JSDoc only).
 * @typedef {import('../api.js').CoreSchemas} Core
 */

/** @type {import('../app.js').View} */
export async function deviceView(main, params) {
  document.title = 'Connect a device · SVA';
  if (!requireSession()) return;
  const code = field({ id: 'user-code', label: 'Code shown on your device', hint: 'Eight letters, like BCDF-GHJK.',
    required: true, value: params.get('user_code') ?? '', autocomplete: 'off' });
  code.input.setAttribute('autocapitalize', 'characters');
  code.input.setAttribute('spellcheck', 'false');
  const form = /** @type {HTMLFormElement} */ (h('form', { novalidate: true },
    code.wrap,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'connect' }, 'Continue'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    code.clearError();
    const typed = code.input.value.trim();
    if (typed === '') { code.setError('Enter the code shown on your device.'); code.input.focus(); return; }
    try {
      await busy(form, async () => {
        /** @type {Core['ResolveUserCodeOutputBody']} */
        const found = await api('POST', '/device', /** @satisfies {Core['ResolveUserCodeInputBody']} */ ({ user_code: typed }));
        navigate(`/consent?auth_request_id=${encodeURIComponent(found.auth_request_id)}`);
      });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) { state.userId = null; requireSession(); return; }
      if (e instanceof ApiError && e.code === 'invalid_user_code') {
        code.setError('This code does not work. Check it against your device; codes expire after 10 minutes.');
        code.input.focus();
        return;
      }
      if (e instanceof ApiError && e.code === 'rate_limited') {
        say('Too many wrong codes. Wait a few minutes, then try again.', 'error');
        return;
      }
      say(e instanceof ApiError && (e.status === 0 || e.status >= 500) ? UNAVAILABLE : /** @type {Error} */ (e).message, 'error');
    }
  });
  main.append(h('section', { class: 'card narrow' },
    h('h1', {}, 'Connect a device'),
    h('p', {}, 'Enter the code your TV, console or command line shows. Only continue if you started signing in on that device yourself.'),
    form));
  if (code.input.value === '') code.input.focus();
}

/**
 * deviceDone replaces the consent screen once a device request is decided: nothing is
 * redirected, the person goes back to their device.
 * @param {HTMLElement} main
 * @param {string} clientName
 * @param {boolean} approved
 */
export function deviceDone(main, clientName, approved) {
  document.title = (approved ? 'Device connected' : 'Device not connected') + ' · SVA';
  main.replaceChildren(h('section', { class: 'card narrow', id: 'device-done' },
    h('h1', {}, approved ? 'Device connected' : 'Device not connected'),
    h('p', {}, approved
      ? `${clientName} can now continue. Return to your device.`
      : `You declined. ${clientName} will not get access; you can close this page.`)));
  say(approved ? 'Device connected — return to your device.' : 'Device not connected.', approved ? 'success' : 'info');
}
