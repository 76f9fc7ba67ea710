// Connected apps and sessions: things a signed-in user manages without unlocking the vault.

import { h, say, busy, logo, when, emptyState } from '../dom.js';
import { requireSession } from '../app.js';
import { api } from '../api.js';
import { scopeInfo } from '../scopes.js';
import { icon } from '../icons.js';


/**
 * Core's bodies (generated from openapi/core.yaml; JSDoc only).
 * @typedef {import('../api.js').CoreSchemas} Core
 */

/**
 * confirmButton needs two clicks: the first turns it into "Confirm …", so a stray click revokes
 * nothing and no modal dialog is needed.
 * @param {string} label
 * @param {string} confirmLabel
 * @param {() => Promise<void>} action
 */
function confirmButton(label, confirmLabel, action) {
  let armed = false;
  const b = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'danger' }, label));
  b.addEventListener('click', async () => {
    if (!armed) {
      armed = true;
      b.textContent = confirmLabel;
      b.classList.add('armed');
      return;
    }
    await action();
  });
  b.addEventListener('blur', () => { armed = false; b.textContent = label; b.classList.remove('armed'); });
  return b;
}

/** @type {import('../app.js').View} */
export async function connectionsView(main) {
  document.title = 'Connected apps · SVA';
  if (!requireSession()) return;
  const card = h('section', { class: 'card wide' }, h('h1', {}, 'Connected apps'),
    h('p', { class: 'lead' }, 'Apps you have shared details with. Disconnecting an app signs you out of it and stops it using what you shared before.'));
  main.append(card);
  // Revoked connections stay in Core's history; only active ones are something to manage.
  /** @type {Core['ConnectionsOutputBody'] | null} */
  const body = await api('GET', '/connections');
  const list = (body?.connections ?? []).filter((c) => c.active !== false);
  if (list.length === 0) {
    card.append(emptyState('apps', 'No connected apps', 'When you use SVA to sign in to an app and share details with it, the app appears here, and you can disconnect it at any time.'));
    return;
  }
  const ul = h('ul', { class: 'rows' });
  for (const c of list) {
    const name = c.client_name;
    const scopes = c.approved_scopes ?? [];
    const row = h('li', { class: 'row' },
      logo(c.client_logo, name),
      h('div', { class: 'grow' },
        h('h2', {}, name),
        h('p', { class: 'muted small' }, `Connected ${when(c.connected_at)}`,
          c.last_used_at ? ` · last shared ${when(c.last_used_at)}` : ''),
        h('ul', { class: 'chips', 'aria-label': 'Shared' }, scopes.map((s) => h('li', {}, scopeInfo(s).name)))),
      confirmButton('Disconnect', `Confirm: disconnect ${name}`, async () => {
        try {
          await busy(row, () => api('DELETE', `/connections/${encodeURIComponent(c.client_id)}`));
          row.remove();
          say(`${name} is disconnected.`, 'success');
        } catch (e) {
          say(/** @type {Error} */ (e).message, 'error');
        }
      }));
    ul.append(row);
  }
  card.append(ul);
}

/** @type {import('../app.js').View} */
export async function sessionsView(main) {
  document.title = 'Sessions · SVA';
  if (!requireSession()) return;
  const card = h('section', { class: 'card wide' }, h('h1', {}, 'Sessions'),
    h('p', { class: 'lead' }, 'Browsers where you are signed in to SVA. Sign out any you do not recognise.'));
  main.append(card);
  /** @type {Core['SessionsOutputBody'] | null} */
  const body = await api('GET', '/sessions');
  // This device first, then the most recently used.
  const list = [...(body?.sessions ?? [])].sort((a, b) => Number(b.current) - Number(a.current) ||
    String(b.last_seen_at ?? b.created_at).localeCompare(String(a.last_seen_at ?? a.created_at)));
  const ul = h('ul', { class: 'rows' });
  const others = () => ul.querySelectorAll('li.row:not(.current)').length;
  /** @type {HTMLElement | null} */
  let othersAction = null;
  const noOthers = h('p', { class: 'muted', id: 'no-other-sessions' }, 'You are not signed in anywhere else.');
  const update = () => {
    if (others() > 0) return;
    othersAction?.remove();
    if (!noOthers.isConnected) card.append(noOthers);
  };
  for (const s of list) {
    const sid = s.id;
    const current = s.current;
    // Core stores only a coarse description ("Firefox on Linux") taken from the browser's user
    // agent at sign-in: no address, no fingerprint.
    const device = s.device || 'Unknown browser';
    const row = h('li', { class: current ? 'row current' : 'row' },
      icon('monitor', 'big'),
      h('div', { class: 'grow' },
        h('h2', {}, device, current ? h('span', { class: 'badge' }, 'This device') : null),
        h('p', { class: 'muted small' }, `Signed in ${when(s.created_at)}`,
          s.last_seen_at ? ` · last used ${when(s.last_seen_at)}` : '',
          s.expires_at ? ` · expires ${when(s.expires_at)}` : '')),
      current ? null : confirmButton('Sign out', `Confirm: sign out ${device}`, async () => {
        try {
          await busy(row, () => api('DELETE', `/sessions/${encodeURIComponent(sid)}`));
          row.remove();
          say(`${device} is signed out.`, 'success');
          update();
        } catch (e) {
          say(/** @type {Error} */ (e).message, 'error');
        }
      }));
    ul.append(row);
  }
  card.append(ul);
  if (others() > 0) {
    const action = h('div', { class: 'actions' }, confirmButton('Sign out all other sessions', 'Confirm: sign out everywhere else', async () => {
      try {
        await busy(action, () => api('POST', '/sessions/revoke-others'));
        say('All other sessions are signed out.', 'success');
        ul.querySelectorAll('li.row:not(.current)').forEach((li) => li.remove());
        update();
      } catch (e) {
        say(/** @type {Error} */ (e).message, 'error');
      }
    }));
    othersAction = action;
    card.append(action);
  } else {
    update();
  }
}
