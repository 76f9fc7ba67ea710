// Sign-in and sign-up views. The master password is used only inside crypto.js; what leaves
// the page is the email hash and the derived auth key.

import { h, say, busy, field, showErrors, clearStatus } from '../dom.js';
import { navigate, safeNext } from '../app.js';
import { signIn, signUp, signOut, state } from '../session.js';
import { passwordStrength, UnsafeKdfError, WrongPasswordError } from '../crypto.js';
import { ApiError } from '../api.js';
import { checkValue } from '../values.js';

/**
 * explainAuthError words sign-in/up failures for people.
 * @param {unknown} e
 * @param {'signin' | 'signup'} mode
 * @returns {string}
 */
function explainAuthError(e, mode) {
  if (e instanceof ApiError) {
    if (mode === 'signin' && (e.status === 401 || e.code === 'invalid_credentials')) {
      return 'That email and master password do not match an account.';
    }
    if (mode === 'signup' && e.status === 409) {
      return 'An account with this email already exists. Sign in instead.';
    }
    return e.message;
  }
  if (e instanceof UnsafeKdfError || e instanceof WrongPasswordError) return e.message;
  return 'Something went wrong in this browser. Please reload the page and try again.';
}

/** @type {import('../app.js').View} */
export function signinView(main, params) {
  document.title = 'Sign in · SVA';
  const next = safeNext(params.get('next'));
  const email = field({ id: 'email', label: 'Email', type: 'email', autocomplete: 'username', required: true });
  const pw = field({ id: 'password', label: 'Master password', type: 'password', autocomplete: 'current-password', required: true });
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'card narrow', id: 'signin-form', novalidate: true },
    h('h1', {}, 'Sign in to SVA'),
    next?.startsWith('/consent') ? h('p', { class: 'lead' }, 'Sign in to continue to the app that sent you here.') : null,
    email.wrap, pw.wrap,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
    h('p', { class: 'muted' }, 'New to SVA? ',
      h('a', { href: next ? `/signup?next=${encodeURIComponent(next)}` : '/signup', 'data-link': true }, 'Create an account'), '.')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    /** @type {Map<import('../dom.js').Field, string>} */
    const problems = new Map();
    if (!email.input.value.trim()) problems.set(email, 'Enter your email.');
    if (!pw.input.value) problems.set(pw, 'Enter your master password.');
    if (!showErrors(form, [email, pw], problems)) return;
    say('Signing in… (unlocking your vault takes a moment)');
    try {
      await busy(form, () => signIn(email.input.value, pw.input.value));
      pw.input.value = '';
      clearStatus();
      navigate(next ?? '/vault', { replace: true });
    } catch (e) {
      say(explainAuthError(e, 'signin'), 'error');
      pw.input.select();
    }
  });
  // login_hint (decision 38): the app's guess of the email, carried in the consent address the
  // provider built; it stays in this browser (only the derived lookup key reaches Core).
  const hint = loginHint(next);
  if (hint && !email.input.value) email.input.value = hint;
  main.append(form);
  (hint ? pw.input : email.input).focus();
}

/**
 * loginHint returns the login_hint of a consent address ("" if none).
 * @param {string | null} next
 * @returns {string}
 */
function loginHint(next) {
  if (!next?.startsWith('/consent?')) return '';
  return new URLSearchParams(next.slice('/consent?'.length)).get('login_hint') ?? '';
}

/** @type {import('../app.js').View} */
export function signupView(main, params) {
  document.title = 'Create account · SVA';
  const next = safeNext(params.get('next'));
  if (state.userId) {
    // Signed in already: a second account needs signing out first, and saying so beats a form
    // that would quietly replace the session.
    main.append(h('section', { class: 'card narrow', id: 'already-signed-in' },
      h('h1', {}, 'You are already signed in'),
      h('p', {}, 'This browser is signed in to an SVA account. To create another account, sign out first.'),
      h('div', { class: 'actions' },
        h('a', { href: next ?? '/vault', 'data-link': true, class: 'button primary' }, next ? 'Continue' : 'Go to your vault'),
        h('button', { type: 'button', class: 'secondary', onclick: async () => {
          try { await signOut(); } catch { /* signed out on this device either way */ }
          navigate(`/signup${next ? `?next=${encodeURIComponent(next)}` : ''}`, { replace: true });
        } }, 'Sign out and create an account'))));
    return;
  }
  const email = field({ id: 'email', label: 'Email', type: 'email', autocomplete: 'username', required: true });
  const pw = field({
    id: 'password', label: 'Master password', type: 'password', autocomplete: 'new-password', required: true, minlength: 12,
    hint: 'At least 12 characters. It never leaves this device, and SVA cannot reset it: if you forget it, your vault cannot be recovered.',
  });
  const confirm = field({ id: 'password-confirm', label: 'Confirm master password', type: 'password', autocomplete: 'new-password', required: true });
  const meter = /** @type {HTMLMeterElement} */ (h('meter', { id: 'strength-meter', min: 0, max: 4, low: 2, high: 3, optimum: 4, value: 0, 'aria-labelledby': 'strength-label' }));
  const label = h('span', { id: 'strength-label' }, 'Password strength: ');
  const verdict = h('strong', {}, '—');
  const advice = h('p', { class: 'hint', id: 'strength-hint', 'aria-live': 'polite' });
  pw.input.setAttribute('aria-describedby', `${pw.input.getAttribute('aria-describedby')} strength-hint`);
  const update = () => {
    const s = passwordStrength(pw.input.value, email.input.value);
    meter.value = s.score;
    verdict.textContent = pw.input.value ? s.label : '—';
    advice.textContent = pw.input.value ? s.hint : '';
  };
  pw.input.addEventListener('input', update);
  email.input.addEventListener('input', update);

  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'card narrow', id: 'signup-form', novalidate: true },
    h('h1', {}, 'Create your SVA account'),
    h('p', { class: 'lead' }, 'Your vault is encrypted on this device with a key made from your master password. SVA stores only ciphertext.'),
    email.wrap, pw.wrap,
    h('div', { class: 'strength' }, h('p', { class: 'strength-row' }, label, verdict), meter, advice),
    confirm.wrap,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create account')),
    h('p', { class: 'muted' }, 'Already have an account? ',
      h('a', { href: next ? `/signin?next=${encodeURIComponent(next)}` : '/signin', 'data-link': true }, 'Sign in'), '.')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const addr = email.input.value.trim();
    // Every problem at once, each on its field (the same email rule Core applies when the
    // address is shared later: domain/claimvalue).
    /** @type {Map<import('../dom.js').Field, string>} */
    const problems = new Map();
    const ep = addr === '' ? { text: 'is required' } : checkValue('email', addr);
    if (ep) problems.set(email, `Email ${ep.text}.`);
    if (pw.input.value === '') problems.set(pw, 'Master password is required.');
    else if (passwordStrength(pw.input.value, addr).score === 0) problems.set(pw, `Master password must be at least 12 characters (you entered ${[...pw.input.value].length}).`);
    if (confirm.input.value === '') problems.set(confirm, 'Confirm master password is required: type the password again.');
    else if (pw.input.value !== confirm.input.value) problems.set(confirm, 'Confirm master password does not match the master password.');
    if (!showErrors(form, [email, pw, confirm], problems)) return;
    say('Creating your account… (deriving your keys takes a moment)');
    try {
      await busy(form, () => signUp(addr, pw.input.value));
      pw.input.value = '';
      confirm.input.value = '';
      navigate(next ?? '/vault', { replace: true, keepStatus: true });
      say(next ? 'Account created.' : 'Account created. Add the details you want to be able to share, then save.', 'success');
    } catch (e) {
      say(explainAuthError(e, 'signup'), 'error');
    }
  });
  main.append(form);
  email.input.focus();
}
