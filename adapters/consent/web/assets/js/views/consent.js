// The consent screen: who is asking, what each scope would share (the exact values from the
// decrypted vault), and the user's choice. Approval builds the claims here, has Core attest
// them and complete the request in one call, and returns the browser to the app (the sign-in
// after the authorization endpoint sent the browser here).

import { h, say, clearStatus, busy, logo, when } from '../dom.js';
import { requireSession, here, unlockForm, navigate } from '../app.js';
import { api, ApiError, UNAVAILABLE } from '../api.js';
import { state, isUnlocked, signOut } from '../session.js';
import { buildClaims, claimsForScope, formatValue, scopeInfo } from '../scopes.js';
import { FIELDS } from '../profile.js';
import { icon, scopeIcon } from '../icons.js';
import { checkValue } from '../values.js';
import { deviceDone } from './device.js';

/**
 * label names a shared claim for people ("Given name"); the exact claim key stays available as a tooltip.
 * @param {string} field vault field
 * @param {string} claim
 */
const label = (field, claim) => FIELDS.get(field)?.label ?? claim;

/** Seconds the "continue as before" screen waits, so a user can still stop and review. */
const AUTO_CONTINUE_SECONDS = 3;

/**
 * Core's bodies (generated from openapi/core.yaml; JSDoc only).
 * @typedef {import('../api.js').CoreSchemas} Core
 * @typedef {Core['AuthRequestOutputBody']} Details
 */

/**
 * requestProblem explains why a consent link cannot be used.
 * @param {unknown} e
 * @returns {{title: string, text: string, announce?: string}}
 */
function requestProblem(e) {
  const code = e instanceof ApiError ? e.code : '';
  const status = e instanceof ApiError ? e.status : 0;
  if (code === 'request_expired' || code === 'expired') {
    return { title: 'This sign-in request has expired', text: 'Sign-in requests last 10 minutes. Go back to the app and start again.' };
  }
  if (code === 'request_not_pending' || code === 'auth_request_not_pending') {
    return { title: 'This sign-in request was already answered', text: 'Go back to the app; if you are not signed in there, start again.' };
  }
  if (code === 'auth_request_bound_to_other_user' || (status === 403 && code !== 'csrf_failed')) {
    return { title: 'This sign-in request belongs to another account', text: 'It was opened while signed in to a different SVA account. Sign in with that account, or go back to the app and start again.' };
  }
  if (code === 'not_found' || status === 404 || code === 'invalid_request' || status === 400 || status === 422) {
    return { title: 'We could not find this sign-in request', text: 'The link may be incomplete, already used or expired. Go back to the app and start again.' };
  }
  if (status === 0 || status >= 500) {
    return { title: 'SVA is temporarily unavailable', text: 'Please try again in a moment. The app is still waiting for your answer.', announce: UNAVAILABLE };
  }
  return { title: 'We could not load this sign-in request', text: /** @type {Error} */ (e).message || 'Please try again.' };
}

/**
 * problemCard renders an error screen with a retry.
 * @param {HTMLElement} main
 * @param {{title: string, text: string, announce?: string}} p
 * @param {boolean} retry
 */
function problemCard(main, p, retry) {
  document.title = `${p.title} · SVA`;
  main.replaceChildren(h('section', { class: 'card narrow problem' },
    h('h1', {}, icon('alert'), ' ', p.title), h('p', {}, p.text),
    retry ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => location.reload() }, 'Try again')) : null));
  say(p.announce ?? p.title, 'error', { quiet: true });
}

/** mainElement is the page's main region, where a decided device request says what happened. */
function mainElement() {
  return /** @type {HTMLElement} */ (document.getElementById('main'));
}

/**
 * leave sends the browser back to the app. The URL comes from the provider via Core; refusing
 * script-capable schemes is a last guard should either ever be wrong.
 * @param {string} url
 */
function leave(url) {
  let u;
  try { u = new URL(url); } catch { throw new Error('The app sent an address we cannot open.'); }
  if (['javascript:', 'data:', 'vbscript:', 'blob:', 'file:'].includes(u.protocol)) {
    throw new Error('The app sent an address we cannot open.');
  }
  location.assign(u.href);
}

/** @type {import('../app.js').View} */
export async function consentView(main, params) {
  document.title = 'Sign-in request · SVA';
  const id = params.get('auth_request_id') ?? '';
  if (!/^[A-Za-z0-9._~-]{1,128}$/.test(id)) {
    problemCard(main, { title: 'This sign-in link is incomplete', text: 'Go back to the app and start signing in again.' }, false);
    return;
  }
  // prompt=none (the provider says so in this page's address): answer without any screen, with
  // the session if there is one (decision 37). The session cookie is SameSite=Strict, so only this
  // page's own request carries it, not the navigation that brought the browser here.
  if (params.get('prompt') === 'none') {
    await answerSilently(main, id);
    return;
  }
  if (!requireSession()) return;
  // The request is read before the vault is unlocked: an answered, expired or unknown request
  // needs no password to say so, and denying needs none either.
  main.append(h('p', { class: 'loading' }, 'Loading the request…'));
  /** @type {Details} */
  let d;
  try {
    d = await api('GET', `/consent/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { state.userId = null; requireSession(); return; }
    problemCard(main, requestProblem(e), e instanceof ApiError && (e.status === 0 || e.status >= 500));
    return;
  }
  if (d.status && d.status !== 'pending') {
    problemCard(main, requestProblem(new ApiError(400, d.status === 'expired' ? 'request_expired' : 'request_not_pending', '')), false);
    return;
  }
  // The request's prompt, max_age or id_token_hint wants a sign-in this session does not give
  // (decision 35): sign out and sign in afresh, coming back here; "use another account" is the
  // sign-in form itself (decision 36). The provider checks the sign-in again at approval.
  if (d.next === 'sign_in') {
    await freshSignIn(d);
    return;
  }
  if (d.next === 'approve' || d.next === 'fail') {
    await answerSilently(main, id);
    return;
  }
  // Core sets can_auto_approve only when an active connection covers every requested scope;
  // the subset check is repeated here so a new scope can never slip through without asking.
  const granted = new Set(d.existing_connection?.approved_scopes ?? []);
  const remembered = d.existing_connection != null;
  // prompt=consent (next: consent_screen) always shows the full screen, even when remembered.
  const covered = d.next !== 'consent_screen' && Boolean(d.can_auto_approve) && (d.requested_scopes ?? []).every((s) => granted.has(s));
  const show = () => {
    if (covered) continueAsBefore(main, d, () => consentForm(main, d, granted, remembered));
    else consentForm(main, d, granted, remembered);
  };
  if (isUnlocked()) show();
  else lockedRequest(main, d, show);
}

/**
 * freshSignIn signs this browser out and shows the sign-in, returning to the request after it.
 * @param {Details} d
 */
async function freshSignIn(d) {
  const back = `/signin?next=${encodeURIComponent(here())}`;
  try { await signOut(); } catch { /* the cookie is dropped either way */ }
  navigate(back, { replace: true, keepStatus: true });
  say(`${d.client.name} asks you to sign in again.`, 'info');
}

/**
 * answerSilently asks Core to answer a prompt=none request — completed, or ended with
 * login_required, consent_required or interaction_required — and returns to the app. Only when
 * that fails is anything shown.
 * @param {HTMLElement} main
 * @param {string} id
 */
async function answerSilently(main, id) {
  main.append(h('p', { class: 'loading' }, 'Returning you to the app…'));
  try {
    /** @type {Core['DenyOutputBody']} */
    const done = await api('POST', `/consent/${encodeURIComponent(id)}/silent`);
    leave(done.redirect_uri);
  } catch (e) {
    problemCard(main, requestProblem(e), e instanceof ApiError && (e.status === 0 || e.status >= 500));
  }
}

/**
 * lockedRequest shows who is asking for what before the master password is needed: the vault is
 * unlocked only to show (and share) the exact values. Denying needs no password.
 * @param {HTMLElement} main
 * @param {Details} d
 * @param {() => void} unlocked
 */
function lockedRequest(main, d, unlocked) {
  document.title = `${d.client.name} wants to use your SVA identity · SVA`;
  const u = unlockForm(`Enter your master password so this device can decrypt your details and show exactly what ${d.client.name} would receive.`,
    () => { main.replaceChildren(); unlocked(); }, { title: 'Unlock to review', headingLevel: 'h2' });
  const card = h('section', { class: 'card consent' },
    clientHeader(d, `${d.client.name} wants to use your SVA identity`),
    h('h2', {}, 'It asks for'),
    h('ul', { class: 'asked' }, (d.requested_scopes ?? []).map((s) => {
      const info = scopeInfo(s, d.scope_details);
      return h('li', {}, scopeIcon(s), h('span', {}, info.name), required(d).has(s) ? h('span', { class: 'tag' }, 'Required by the app') : null);
    })),
    u.form,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', id: 'deny', onclick: async () => {
        try { await busy(card, () => deny(d)); } catch (e) { failed(e); }
      } }, `Deny, without unlocking`)));
  main.replaceChildren(card);
  u.focus();
}

/**
 * required lists the scopes the provider marks as required for this request (the app's
 * registration, plus openid: client.Requires decides), which are pre-ticked on a first consent;
 * the rest wait for the person to opt in.
 * @param {Details} d
 * @returns {Set<string>}
 */
function required(d) {
  return new Set((d.scope_details ?? []).filter((x) => x.required).map((x) => x.key));
}

/**
 * clientHeader shows who is asking and where the browser will go next.
 * @param {Details} d
 * @param {string} headline
 */
function clientHeader(d, headline) {
  let host = '';
  try { host = new URL(d.redirect_uri).host; } catch { host = ''; }
  return h('header', { class: 'client' },
    logo(d.client.logo, d.client.name),
    h('div', {},
      h('h1', {}, headline),
      d.client.description ? h('p', { class: 'muted' }, d.client.description) : null,
      host ? h('p', { class: 'muted small' }, 'You will return to ', h('strong', {}, host), '.') : null));
}

/**
 * sharedList renders "what will be shared" for a set of scopes: exact values, one per line.
 * @param {string[]} scopes
 * @param {Details} d
 */
function sharedList(scopes, d) {
  const rows = [];
  // Two scopes can permit the same claim (name and profile both share the name); the app gets
  // each claim once, so it is listed once.
  const seen = new Set();
  for (const s of scopes) {
    const info = scopeInfo(s, d.scope_details);
    if (s === 'openid') {
      rows.push(h('li', {}, h('span', { class: 'k' }, info.name), h('span', { class: 'v' }, 'An identifier for your SVA account')));
      continue;
    }
    for (const [claim, value, f] of claimsForScope(s, state.profile)) {
      if (seen.has(claim)) continue;
      seen.add(claim);
      rows.push(h('li', {}, h('span', { class: 'k', title: claim }, label(f, claim)), h('span', { class: 'v' }, formatValue(value))));
    }
  }
  return rows.length ? h('ul', { class: 'shared' }, rows) : h('p', { class: 'muted' }, 'Nothing. The app will learn only that you said no.');
}

/**
 * approve builds claims for the approved scopes, has Core attest them and complete the request in
 * one call, and leaves. An empty approval is a denial (decision 4).
 * @param {Details} d
 * @param {string[]} approved
 */
async function approve(d, approved) {
  if (approved.length === 0) return deny(d);
  // Without a session Core would refuse the call; say why instead of sending it.
  if (state.userId === null) throw new ApiError(401, 'not_signed_in', 'Your session has ended. Please sign in again.');
  say(`Sharing with ${d.client.name}…`);
  const claims = buildClaims(approved, state.profile);
  const id = encodeURIComponent(d.auth_request_id);
  // One call: Core attests the claims and completes the request (the seed's attest-data and
  // complete steps in one round trip).
  /** @type {Core['CompleteOutputBody']} */
  const done = await api('POST', `/consent/${id}/approve`, /** @satisfies {Core['ApproveInputBody']} */ ({ approved_scopes: approved, claims }));
  if (done.device) { deviceDone(mainElement(), d.client.name, true); return; }
  say(`Returning you to ${d.client.name}…`, 'success');
  leave(done.redirect_uri);
}

/**
 * deny tells the app the user said no and returns to it.
 * @param {Details} d
 */
async function deny(d) {
  say(`Telling ${d.client.name} you declined…`);
  /** @type {Core['DenyOutputBody']} */
  const done = await api('POST', `/consent/${encodeURIComponent(d.auth_request_id)}/deny`);
  if (done.device) { deviceDone(mainElement(), d.client.name, false); return; }
  say(`Returning you to ${d.client.name}…`);
  leave(done.redirect_uri);
}

/**
 * failed reports an approve/deny error in words.
 * @param {unknown} e
 */
function failed(e) {
  if (!(e instanceof ApiError)) {
    say(/** @type {Error} */ (e).message, 'error');
    return;
  }
  switch (e.code) {
    case 'claims_not_permitted':
    case 'audience_mismatch':
    case 'user_id_mismatch':
      // Core refused to vouch for what this page built: a bug here or a changed request, never
      // something the user can fix by retrying.
      say('SVA could not confirm the details for this app, so nothing was shared. Go back to the app and start again.', 'error');
      return;
    case 'login_required':
      // The provider wants a newer sign-in than this session's (prompt=login, max_age) or
      // another person (id_token_hint): sign in again and come back to the request.
      void signOut().catch(() => {}).finally(() => {
        navigate(`/signin?next=${encodeURIComponent(here())}`, { replace: true, keepStatus: true });
        say('The app asks you to sign in again.', 'info');
      });
      return;
    case 'invalid_claim_value':
      say(`SVA would not share these details: ${e.message} Fix them in your vault, then try again. Nothing was shared.`, 'error');
      return;
    case 'request_expired':
    case 'request_not_pending':
    case 'auth_request_not_pending':
    case 'auth_request_bound_to_other_user':
    case 'not_found': {
      const p = requestProblem(e);
      say(`${p.title}. ${p.text}`, 'error');
      return;
    }
    default:
      say(e.message, 'error');
  }
}

/**
 * continueAsBefore: every requested scope was granted before (decision 7), so after a short,
 * visible countdown the same scopes are shared again with the vault's current values. The user
 * can stop and review instead.
 * @param {HTMLElement} main
 * @param {Details} d
 * @param {() => void} review
 */
function continueAsBefore(main, d, review) {
  document.title = `Continue to ${d.client.name} · SVA`;
  let left = AUTO_CONTINUE_SECONDS;
  const counter = h('span', {}, String(left));
  const timer = setInterval(async () => {
    left -= 1;
    counter.textContent = String(Math.max(left, 0));
    if (left > 0) return;
    clearInterval(timer);
    try {
      await busy(card, () => approve(d, d.requested_scopes ?? []));
    } catch (e) {
      failed(e);
    }
  }, 1000);
  const stop = () => { clearInterval(timer); clearStatus(); main.replaceChildren(); review(); };
  const card = h('section', { class: 'card consent' },
    clientHeader(d, `Continue to ${d.client.name}`),
    h('p', {}, `You shared this with ${d.client.name} before. SVA will share the same, with your current details:`),
    sharedList(d.requested_scopes ?? [], d),
    h('p', { class: 'muted', 'aria-live': 'off' }, 'Continuing in ', counter, ' s…'),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', onclick: stop }, 'Review what is shared')));
  main.replaceChildren(card);
  say(`Continuing to ${d.client.name} as before.`);
}

/**
 * consentForm is the full choice: one checkbox per requested scope with the client's reason and
 * the exact values, plus a live summary of everything that would be shared.
 * @param {HTMLElement} main
 * @param {Details} d
 * @param {Set<string>} granted scopes approved before (pre-checked)
 * @param {boolean} remembered whether an earlier approval exists
 */
function consentForm(main, d, granted, remembered) {
  document.title = `${d.client.name} wants to use your SVA identity · SVA`;
  /** @type {HTMLInputElement[]} */
  const boxes = [];
  const needed = required(d);
  const items = (d.requested_scopes ?? []).map((s) => {
    const info = scopeInfo(s, d.scope_details);
    const values = claimsForScope(s, state.profile);
    const empty = s !== 'openid' && values.length === 0;
    // A value stored before SVA checked values (or by another client) that Core would refuse:
    // say which and where to fix it, rather than failing at Allow.
    const broken = values.map(([k, v, f]) => { const p = checkValue(k, v); return p ? `${label(f, k)} ${p.text}.` : ''; }).filter(Boolean);
    const isNew = remembered && !granted.has(s);
    const box = /** @type {HTMLInputElement} */ (h('input', {
      type: 'checkbox', id: `scope-${s}`, value: s, disabled: empty || broken.length > 0, 'aria-describedby': `scope-${s}-desc`,
    }));
    // Privacy first: a first consent pre-ticks only what the app marked as required; a
    // remembered one what was shared before. Everything else is the person's opt-in.
    box.checked = !empty && broken.length === 0 && (remembered ? granted.has(s) : needed.has(s));
    boxes.push(box);
    const fix = h('a', { href: `/vault?next=${encodeURIComponent(here())}`, 'data-link': true }, empty ? 'Add it to your vault' : 'Fix it in your vault');
    const shown = s === 'openid'
      ? h('p', { class: 'value' }, 'An identifier for your SVA account, so the app recognises you next time')
      : empty
        ? h('p', { class: 'value empty' }, 'Not in your vault yet, so it cannot be shared. ', fix)
        : broken.length
          ? h('p', { class: 'value field-error' }, icon('alert'), h('span', {}, `${broken.join(' ')} It cannot be shared until it is fixed. `, fix))
          : h('dl', { class: 'value' }, values.flatMap(([k, v, f]) => [h('dt', { title: k }, label(f, k)), h('dd', {}, formatValue(v))]));
    return h('li', { class: 'scope' },
      h('div', { class: 'scope-head' }, box,
        h('label', { for: `scope-${s}` }, scopeIcon(s), h('span', {}, info.name)),
        needed.has(s) ? h('span', { class: 'tag' }, 'Required by the app') : null,
        isNew ? h('span', { class: 'badge' }, 'New') : null),
      h('div', { class: 'scope-body', id: `scope-${s}-desc` },
        info.reason ? h('p', {}, h('span', { class: 'muted' }, 'Why: '), info.reason)
          : info.description ? h('p', { class: 'muted' }, info.description) : null,
        shown));
  });

  const summary = h('div', { id: 'shared-summary' });
  const allow = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'primary' }, 'Allow'));
  const checked = () => boxes.filter((b) => b.checked && !b.disabled).map((b) => b.value);
  const refresh = () => {
    const c = checked();
    summary.replaceChildren(sharedList(c, d));
    allow.textContent = c.length ? 'Allow' : 'Continue without sharing';
  };
  boxes.forEach((b) => b.addEventListener('change', refresh));

  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'card consent', id: 'consent-form', novalidate: true },
    clientHeader(d, `${d.client.name} wants to use your SVA identity`),
    remembered ? h('p', { class: 'note' }, icon('info'), ` You have shared with ${d.client.name} before. Scopes marked New were not part of that.`)
      : h('p', { class: 'note' }, icon('info'), ` Only what ${d.client.name} marked as required is ticked. Tick anything else you want to share.`),
    h('fieldset', {},
      h('legend', {}, 'Choose what to share'),
      h('ul', { class: 'scopes' }, items)),
    h('section', { class: 'summary', 'aria-labelledby': 'summary-title' },
      h('h2', { id: 'summary-title' }, `What ${d.client.name} will receive`), summary),
    h('p', { class: 'muted small' }, `This request expires ${when(d.expires_at)}. You can disconnect the app later under Connected apps.`),
    h('div', { class: 'actions' },
      allow,
      h('button', { type: 'button', class: 'secondary', id: 'deny', onclick: async () => {
        try { await busy(form, () => deny(d)); } catch (e) { failed(e); }
      } }, 'Deny')),
  ));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    // Read the choice before busy() disables the checkboxes (disabled ones count as unchecked).
    const approved = checked();
    try { await busy(form, () => approve(d, approved)); } catch (e) { failed(e); }
  });
  refresh();
  main.replaceChildren(form);
}
