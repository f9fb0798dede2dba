// Sign-up: our backend asks passkeyd for a register token, the browser creates the passkey
// (register), and the verify token that comes back becomes the session.

import { api, busy, clearAlert, deviceName, explain, finishSignIn, passkeys, showAlert } from '/app.js';

const form = document.getElementById('signup-form');
const email = document.getElementById('email');
const button = document.getElementById('signup-button');
const alertBox = document.getElementById('alert');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearAlert(alertBox);
  if (!email.value.trim()) {
    showAlert(alertBox, { title: 'E-mail needed', text: 'Enter the e-mail address you want to sign in with.' });
    email.focus();
    return;
  }
  const done = busy(button, 'Waiting for your passkey…');
  try {
    const { token } = await api('POST', '/api/signup', { email: email.value });
    const result = await passkeys().register(token, deviceName());
    if (result.error) throw result.error;
    await finishSignIn(result.token, { title: 'Welcome to Harbor!', text: 'Your account is ready, and your passkey is saved on this device.' });
  } catch (e) {
    showAlert(alertBox, explain(e));
    done();
  }
});
