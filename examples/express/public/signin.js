// Sign-in, two ways: the button (by e-mail, or any passkey on the device when the field is
// empty), and autofill: the browser offers saved passkeys in the e-mail field's suggestions.

import { busy, clearAlert, explain, finishSignIn, passkeys, showAlert } from '/app.js';

const form = document.getElementById('signin-form');
const email = document.getElementById('email');
const button = document.getElementById('signin-button');
const alertBox = document.getElementById('alert');

if (new URLSearchParams(location.search).has('signed_out')) {
  showAlert(alertBox, { title: "You're signed out", text: 'See you soon. Sign in again with your passkey whenever you like.' }, 'info');
  history.replaceState(null, '', '/signin');
}

/** Autofill (conditional mediation): waits quietly until the person picks a passkey. */
async function startAutofill() {
  const client = passkeys();
  if (!(await client.isAutofillSupported())) {
    form.dataset.autofill = 'unsupported';
    return;
  }
  form.dataset.autofill = 'waiting';
  const result = await client.signinWithAutofill();
  form.dataset.autofill = 'done';
  if (result.error) {
    // Cancelled or replaced by the button: no message. Anything else is worth one.
    showAlert(alertBox, explain(result.error, { quiet: true }));
    return;
  }
  try {
    await finishSignIn(result.token, { title: 'Signed in', text: 'Welcome back! You signed in with passkey autofill.' });
  } catch (e) {
    showAlert(alertBox, explain(e));
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearAlert(alertBox);
  const done = busy(button, 'Waiting for your passkey…');
  const alias = email.value.trim().toLowerCase();
  try {
    // Starting this ceremony cancels the autofill one (one WebAuthn request at a time).
    const result = alias ? await passkeys().signinWithAlias(alias) : await passkeys().signinWithDiscoverable();
    if (result.error) {
      showAlert(alertBox, explain(result.error));
      done();
      startAutofill();
      return;
    }
    await finishSignIn(result.token, { title: 'Signed in', text: 'Welcome back! You signed in with your passkey.' });
  } catch (e) {
    showAlert(alertBox, explain(e));
    done();
  }
});

startAutofill();
