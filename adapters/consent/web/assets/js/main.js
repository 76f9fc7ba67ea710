// Entry point: wire the views to their paths and start the single-page app.

import { h, say } from './dom.js';
import { route, render, navigate } from './app.js';
import { refreshSession, state } from './session.js';
import { signinView, signupView } from './views/auth.js';
import { vaultView } from './views/vault.js';
import { consentView } from './views/consent.js';
import { deviceView } from './views/device.js';
import { connectionsView, sessionsView } from './views/account.js';
import { signOutView } from './views/signout.js';

route({
  '/': () => navigate(state.userId ? '/vault' : '/signin', { replace: true }),
  '/signin': signinView,
  '/signup': signupView,
  '/vault': vaultView,
  '/consent': consentView,
  '/device': deviceView,
  '/connections': connectionsView,
  '/sessions': sessionsView,
  '/logout': signOutView,
}, (main) => {
  document.title = 'Page not found · SVA';
  main.append(h('section', { class: 'card narrow' }, h('h1', {}, 'Page not found'),
    h('p', {}, 'There is nothing at this address. ', h('a', { href: '/', 'data-link': true }, 'Go to SVA'), '.')));
});

// Same-document navigation for internal links, so the in-memory keys survive.
document.addEventListener('click', (ev) => {
  const a = /** @type {HTMLElement} */ (ev.target).closest?.('a[data-link]');
  if (!(a instanceof HTMLAnchorElement) || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  if (a.origin !== location.origin) return;
  ev.preventDefault();
  navigate(a.pathname + a.search);
});
window.addEventListener('popstate', () => { void render(); });

try {
  await refreshSession();
} catch (e) {
  say(/** @type {Error} */ (e).message, 'error');
}
await render(true);
