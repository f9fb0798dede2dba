// The signed-in area: the user's passkeys (add, rename, remove), the session, and a
// sensitive action that needs a fresh passkey check (step-up) first.

import { api, busy, clearAlert, deviceName, el, explain, flash, passkeys, showAlert } from '/app.js';

const $ = (id) => document.getElementById(id);
const flashBox = $('flash');
const passkeysAlert = $('passkeys-alert');
const tokensAlert = $('tokens-alert');

let me = null;
let list = [];

const TYPES = {
  passkey: { label: 'Synced passkey', icon: 'cloud' },
  platform: { label: 'This device', icon: 'laptop' },
  security_key: { label: 'Security key', icon: 'key' },
};
const SVG = {
  cloud: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M17.5 19H9a7 7 0 1 1 6.71-9h1.79a4.5 4.5 0 1 1 0 9z"/></svg>',
  laptop: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><rect x="3" y="4" width="18" height="12" rx="2"/><path d="M2 20h20"/></svg>',
  key: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><circle cx="7.5" cy="15.5" r="5.5"/><path d="m21 2-9.6 9.6M15.5 7.5l3 3L22 7l-3-3"/></svg>',
  lock: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><rect x="4" y="11" width="16" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 8 0v4"/></svg>',
  check: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z"/><path d="m9 12 2 2 4-4"/></svg>',
};

// ---- formatting ------------------------------------------------------------------------

const dateFmt = new Intl.DateTimeFormat('en', { dateStyle: 'medium' });
const timeFmt = new Intl.DateTimeFormat('en', { hour: 'numeric', minute: '2-digit' });
const relFmt = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

function ago(iso) {
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  if (Math.abs(seconds) < 45) return 'just now';
  if (Math.abs(seconds) < 3600) return relFmt.format(Math.round(seconds / 60), 'minute');
  if (Math.abs(seconds) < 86400) return relFmt.format(Math.round(seconds / 3600), 'hour');
  return relFmt.format(Math.round(seconds / 86400), 'day');
}

// ---- loading ---------------------------------------------------------------------------

/** Our API answered "signed out": back to the sign-in page. Other errors are shown. */
function handle(e, box) {
  if (e?.code === 'signed_out') {
    location.assign('/signin');
    return;
  }
  showAlert(box, explain(e));
}

async function load() {
  const message = flash.take();
  if (message) showAlert(flashBox, message, 'success');
  try {
    me = await api('GET', '/api/me');
  } catch (e) {
    $('signed-in-as').textContent = '';
    return handle(e, flashBox);
  }
  $('nav-email').textContent = me.email ?? '';
  $('signed-in-as').textContent = `Signed in as ${me.email ?? me.userId}`;
  renderSession();
  renderStepUp();
  await refreshPasskeys();
}

async function refreshPasskeys() {
  try {
    ({ passkeys: list } = await api('GET', '/api/passkeys'));
  } catch (e) {
    return handle(e, passkeysAlert);
  }
  renderPasskeys();
}

// ---- passkeys --------------------------------------------------------------------------

function renderPasskeys() {
  const ul = $('passkey-list');
  ul.innerHTML = '';
  for (const p of list) ul.append(passkeyRow(p));
  $('passkeys-foot').textContent = list.length === 1
    ? 'This is your only passkey. Add a second one (another device or a security key) so that you never get locked out.'
    : `${list.length} passkeys can sign in to your account.`;
}

function passkeyRow(p) {
  const type = TYPES[p.type] ?? { label: p.type, icon: 'key' };
  const li = el('li', { class: 'passkey', 'data-id': p.id });
  const icon = el('div', { class: 'passkey-icon' });
  icon.innerHTML = SVG[type.icon];
  const main = el('div', { class: 'passkey-main' });
  const actions = el('div', { class: 'passkey-actions' });
  li.append(icon, main, actions);

  const showView = () => {
    li.classList.remove('confirm');
    const used = p.lastUsedAt ? `Last used ${ago(p.lastUsedAt)}` : 'Not used to sign in yet';
    const count = p.usageCount === 1 ? 'Used once' : `Used ${p.usageCount} times`;
    main.replaceChildren(
      el('div', { class: 'passkey-name' }, el('span', { class: 'nickname' }, p.nickname || 'Unnamed passkey'), el('span', { class: 'badge' }, type.label)),
      el('div', { class: 'passkey-meta' }, `Added ${dateFmt.format(new Date(p.createdAt))} · ${used}${p.usageCount ? ` · ${count}` : ''}`),
    );
    const rename = el('button', { class: 'btn btn-ghost btn-sm', type: 'button' }, 'Rename');
    const remove = el('button', { class: 'btn btn-ghost btn-sm danger', type: 'button' }, 'Remove');
    if (list.length <= 1) {
      remove.disabled = true;
      remove.title = 'Add another passkey before removing this one';
    }
    rename.addEventListener('click', showRename);
    remove.addEventListener('click', showRemove);
    actions.replaceChildren(rename, remove);
  };

  const showRename = () => {
    const input = el('input', { class: 'input input-sm', maxlength: '64', 'aria-label': 'Passkey name' });
    input.value = p.nickname ?? '';
    const form = el('form', { class: 'passkey-edit' }, input);
    const save = el('button', { class: 'btn btn-primary btn-sm', type: 'submit' }, 'Save');
    const cancel = el('button', { class: 'btn btn-ghost btn-sm', type: 'button' }, 'Cancel');
    form.append(save, cancel);
    cancel.addEventListener('click', showView);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearAlert(passkeysAlert);
      const done = busy(save, 'Saving…');
      try {
        await api('PATCH', `/api/passkeys/${encodeURIComponent(p.id)}`, { nickname: input.value });
        showAlert(passkeysAlert, { title: 'Passkey renamed', text: `It is now called “${input.value.trim()}”.` }, 'success');
        await refreshPasskeys();
      } catch (e) {
        done();
        handle(e, passkeysAlert);
      }
    });
    main.replaceChildren(form);
    actions.replaceChildren();
    input.focus();
    input.select();
  };

  const showRemove = () => {
    li.classList.add('confirm');
    main.replaceChildren(
      el('div', { class: 'passkey-name' }, `Remove “${p.nickname || 'Unnamed passkey'}”?`),
      el('div', { class: 'passkey-meta' }, 'You will no longer be able to sign in with it. The copy on the device stays until you delete it there.'),
    );
    const confirm = el('button', { class: 'btn btn-danger btn-sm', type: 'button' }, 'Remove passkey');
    const cancel = el('button', { class: 'btn btn-ghost btn-sm', type: 'button' }, 'Cancel');
    cancel.addEventListener('click', showView);
    confirm.addEventListener('click', async () => {
      clearAlert(passkeysAlert);
      const done = busy(confirm, 'Removing…');
      try {
        await api('DELETE', `/api/passkeys/${encodeURIComponent(p.id)}`, {});
        showAlert(passkeysAlert, { title: 'Passkey removed', text: `“${p.nickname || 'Unnamed passkey'}” can no longer sign in to your account.` }, 'success');
        await refreshPasskeys();
      } catch (e) {
        done();
        handle(e, passkeysAlert);
      }
    });
    actions.replaceChildren(confirm, cancel);
  };

  showView();
  return li;
}

// Adding a passkey: a register token for the signed-in user, then the browser's prompt.
$('add-button').addEventListener('click', () => {
  clearAlert(passkeysAlert);
  $('add-form').hidden = false;
  $('add-name').value = deviceName();
  $('add-name').focus();
  $('add-name').select();
});
$('add-cancel').addEventListener('click', () => { $('add-form').hidden = true; });
$('add-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  clearAlert(passkeysAlert);
  const name = $('add-name').value.trim() || deviceName();
  const done = busy($('add-create'), 'Waiting for your passkey…');
  try {
    const { token } = await api('POST', '/api/passkeys/register-token', {});
    const result = await passkeys().register(token, name);
    if (result.error) throw result.error;
    $('add-form').hidden = true;
    showAlert(passkeysAlert, { title: 'Passkey added', text: `You can now sign in with “${name}”.` }, 'success');
    await refreshPasskeys();
  } catch (e) {
    handle(e, passkeysAlert);
  } finally {
    done();
  }
});

// ---- session ---------------------------------------------------------------------------

function renderSession() {
  const s = me.session;
  const facts = [
    ['User id', me.userId],
    ['Signed in', timeFmt.format(new Date(s.issuedAt))],
    ['Expires', timeFmt.format(new Date(s.expiresAt))],
    ['Issuer', s.issuer],
    ['Signing key', s.kid],
    ['Checked with', s.checkedWith],
  ];
  $('session-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { title: v }, v)]));
  if (s.checkedWith === 'passage-node') {
    $('session-explain').replaceChildren(
      'Harbor checks it on every request with the Passage Node SDK, ', el('code', {}, 'passage.authenticateRequest'),
      ", against passkeyd's public keys (JWKS): the way for apps moving from Passage.",
    );
  }
}

$('signout-button').addEventListener('click', async () => {
  try {
    await api('POST', '/api/signout', {});
  } finally {
    location.assign('/signin?signed_out=1');
  }
});

// ---- the sensitive action, behind a step-up ----------------------------------------------

let stepUpTimer;
function renderStepUp() {
  const status = $('stepup-status');
  const until = me.stepUpUntil ? Date.parse(me.stepUpUntil) : 0;
  clearTimeout(stepUpTimer);
  if (until > Date.now()) {
    status.className = 'status status-ok';
    status.innerHTML = SVG.check;
    status.append(`Identity confirmed until ${timeFmt.format(new Date(until))}`);
    stepUpTimer = setTimeout(() => { me.stepUpUntil = null; renderStepUp(); }, until - Date.now());
  } else {
    status.className = 'status status-locked';
    status.innerHTML = SVG.lock;
    status.append('Needs a fresh passkey check');
  }
}

function showToken(token) {
  $('token-value').textContent = token;
  $('token-box').hidden = false;
}

async function createToken() {
  const { token } = await api('POST', '/api/tokens', {});
  showToken(token);
}

$('token-button').addEventListener('click', async () => {
  clearAlert(tokensAlert);
  $('token-box').hidden = true;
  const done = busy($('token-button'), 'Creating…');
  try {
    await createToken();
  } catch (e) {
    if (e.code === 'step_up_required') {
      // The server refused: no recent passkey check. Ask for one.
      $('stepup-box').hidden = false;
      $('token-button').hidden = true;
    } else {
      handle(e, tokensAlert);
    }
  } finally {
    done();
  }
});

$('stepup-cancel').addEventListener('click', () => {
  $('stepup-box').hidden = true;
  $('token-button').hidden = false;
});

$('stepup-button').addEventListener('click', async () => {
  clearAlert(tokensAlert);
  const done = busy($('stepup-button'), 'Waiting for your passkey…');
  try {
    // A sign-in ceremony with a purpose: the verify token says "step-up", and the server checks it.
    const result = await passkeys().stepup({ signinMethod: { userId: me.userId }, purpose: 'step-up' });
    if (result.error) throw result.error;
    ({ stepUpUntil: me.stepUpUntil } = await api('POST', '/api/step-up', { token: result.token }));
    renderStepUp();
    $('stepup-box').hidden = true;
    $('token-button').hidden = false;
    await createToken();
  } catch (e) {
    handle(e, tokensAlert);
  } finally {
    done();
  }
});

load();
