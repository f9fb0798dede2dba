"""Python suite: the official, unchanged `passwordless` SDK (PyPI) against a real passkeyd.

Env: PASSKEYD_URL (e.g. http://127.0.0.1:5701), PASSKEYD_MANAGEMENT_KEY.
Output: "ok - ..." / "not ok - ...: reason" / "skip - ..." lines, then
"python: N passed, M failed".

The SDK has no browser part, so the passkey is created by ceremony.mjs (the unchanged JS
client in Chromium) from a register token that *this* SDK issued. The SDK's models are
strict dataclasses: every field it declares must be present and (mostly) non-null, which is
exactly what these checks exercise.
"""

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import traceback
from datetime import datetime, timedelta

import requests
from passwordless import (
    DeleteCredential,
    DeleteUser,
    GenerateAuthenticationTokenOptions,
    PasswordlessClientBuilder,
    PasswordlessError,
    PasswordlessOptions,
    RegisterToken,
    SendMagicLinkOptions,
    SetAlias,
    UpdateAppsFeature,
    VerifySignIn,
)

HERE = os.path.dirname(os.path.abspath(__file__))
BASE_URL = os.environ["PASSKEYD_URL"].rstrip("/")
MANAGEMENT_KEY = os.environ["PASSKEYD_MANAGEMENT_KEY"]
VERBOSE = bool(os.environ.get("COMPAT_VERBOSE"))

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STD_B64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
# What the SDK invents when a response is not problem+json (its `type` has no "#anchor").
FALLBACK_TYPE = "https://docs.passwordless.dev/guide/errors.html"
FALLBACK_TITLE = "Unexpected error"

# ---- a tiny check runner (same output convention as the Node suite) ----------------------

counts = {"passed": 0, "failed": 0}


class Missing(Exception):
    """An earlier check did not produce what this one needs."""


def check(name, fn):
    try:
        value = fn()
    except Exception as e:  # every failure is reported, none stops the suite
        counts["failed"] += 1
        reason = f"not run: {e}" if isinstance(e, Missing) else f"{type(e).__name__}: {e}"
        if isinstance(e, PasswordlessError):
            reason = f"PasswordlessError {e.problem_details}"
        print(f"not ok - {name}: {' '.join(reason.split())}", flush=True)
        if VERBOSE:
            traceback.print_exc()
        return None
    counts["passed"] += 1
    print(f"ok - {name}", flush=True)
    return value


def skip(name, reason):
    print(f"skip - {name} ({reason})", flush=True)


def need(value, what):
    if value is None:
        raise Missing(f"{what} is missing (an earlier check failed)")
    return value


def eq(actual, expected, label):
    if actual != expected:
        raise AssertionError(f"{label}: expected {expected!r}, got {actual!r}")


def ok(cond, message):
    if not cond:
        raise AssertionError(message)


def matches(value, pattern, label):
    if not isinstance(value, str) or not pattern.match(value):
        raise AssertionError(f"{label}: expected {pattern.pattern}, got {value!r}")


def is_utc(dt, label):
    ok(isinstance(dt, datetime), f"{label}: not a datetime: {dt!r}")
    ok(dt.utcoffset() == timedelta(0), f"{label}: not UTC (the server must send a Z): {dt!r}")


def raises_problem(fn, status, label):
    """Runs fn, which must raise PasswordlessError carrying the server's problem details."""
    try:
        fn()
    except PasswordlessError as e:
        p = e.problem_details
        eq(p.status, status, f"{label}: status")
        # The fallback means the SDK did not recognise the response as problem+json.
        ok(p.title and p.title != FALLBACK_TITLE and p.type != FALLBACK_TYPE,
           f"{label}: the SDK fell back to its own problem: {p}")
        return p
    raise AssertionError(f"{label}: expected PasswordlessError {status}, nothing was raised")


def rand(n=6):
    return secrets.token_hex(n)


def alias_hash(app_id, alias):
    return base64.b64encode(hashlib.sha256((app_id + alias).encode()).digest()).decode()


# ---- the suite -------------------------------------------------------------------------


def create_app(app_id):
    r = requests.post(
        f"{BASE_URL}/admin/apps/{app_id}/create",
        headers={"ManagementKey": MANAGEMENT_KEY},
        json={"adminEmail": "ops@example.com"},
        timeout=30,
    )
    eq(r.status_code, 200, f"POST /admin/apps/{app_id}/create status ({r.text})")
    keys = r.json()
    matches(keys.get("apiKey1"), re.compile(rf"^{app_id}:public:[0-9a-f]{{32}}$"), "apiKey1")
    matches(keys.get("apiSecret1"), re.compile(rf"^{app_id}:secret:[0-9a-f]{{32}}$"), "apiSecret1")
    return keys


def main():
    app_id = f"pycompat{rand(4)}"
    app = check("admin: POST /admin/apps/{appId}/create returns keys", lambda: create_app(app_id))
    if app is None:
        return
    client = PasswordlessClientBuilder(PasswordlessOptions(app["apiSecret1"], BASE_URL)).build()

    user_id = f"pyuser-{rand()}"
    alias = f"dave-{rand()}@example.com"

    # The SDK sends every field, nulls as null, authenticatorType "any" and a naive
    # expiresAt without a zone: all of it must be accepted.
    def register_token():
        t = client.register_token(RegisterToken(user_id=user_id, username="dave", aliases=[alias]))
        matches(t.token, re.compile(r"^register_[A-Za-z0-9_-]+$"), "token")
        return t.token

    token = check("python: register_token (explicit nulls, naive expiresAt) returns a register_ token", register_token)

    def ceremony():
        out = subprocess.run(
            [os.environ.get("NODE", "node"), os.path.join(HERE, "ceremony.mjs"), BASE_URL,
             app["apiKey1"], need(token, "register token"), "py-nick"],
            capture_output=True, text=True, timeout=180, check=False,
        )
        ok(out.returncode == 0, f"ceremony.mjs exited {out.returncode}: {out.stderr.strip()[-500:]}")
        data = json.loads(out.stdout)
        for step in ("register", "signin"):
            r = data.get(step) or {}
            ok("error" not in r, f"{step} returned an error: {r.get('error')}")
            matches(r.get("token"), re.compile(r"^verify_"), f"{step}.token")
        eq(len(data["credentials"]), 1, "credentials on the authenticator")
        return data

    cer = check("browser (ceremony.mjs): register + signinWithDiscoverable with the Python-issued token", ceremony)
    cred = cer["credentials"][0] if cer else None

    def verified(step, type_):
        c = need(cred, "a registered credential")
        v = client.sign_in(VerifySignIn(cer[step]["token"]))
        eq(v.success, True, "success")
        eq(v.user_id, user_id, "user_id")
        eq(v.type, type_, "type")
        matches(v.credential_id, STD_B64, "credential_id (standard base64)")
        eq(v.credential_id, c["credentialId"], "credential_id (vs WebAuthn.getCredentials)")
        is_utc(v.timestamp, "timestamp")
        is_utc(v.expires_at, "expires_at")
        ok(v.expires_at > v.timestamp, "expires_at is not after timestamp")
        matches(v.token_id, GUID, "token_id")
        eq(v.origin, cer["origin"], "origin")
        ok(isinstance(v.device, str) and isinstance(v.country, str), "device/country are not strings")
        eq(v.nickname, "py-nick", "nickname")
        return v

    check("python: sign_in(passkey_register token) parses into VerifiedUser",
          lambda: verified("register", "passkey_register"))
    check("python: sign_in(passkey_signin token) parses into VerifiedUser",
          lambda: verified("signin", "passkey_signin"))
    check("python: a second sign_in of the same token raises PasswordlessError 400 (single-use)",
          lambda: raises_problem(lambda: client.sign_in(VerifySignIn(need(cer, "tokens")["signin"]["token"])),
                                 400, "second sign_in"))

    # ---- errors: the SDK detects problems by Content-Type starting application/problem+json.
    def bad_secret():
        bad = PasswordlessClientBuilder(
            PasswordlessOptions(f"{app_id}:secret:{'0' * 32}", BASE_URL)).build()
        p = raises_problem(lambda: bad.register_token(RegisterToken(user_id="u", username="u")), 401, "bad secret")
        eq(p.type, f"{FALLBACK_TYPE}#ApiSecret", "type")
        ok("ApiSecret" in p.title, f"title: {p.title!r}")

    check("python: a bad secret raises PasswordlessError 401 with the server's problem details", bad_secret)

    def no_username():
        p = raises_problem(lambda: client.register_token(RegisterToken(user_id=f"u-{rand()}", username="")),
                           400, "empty username")
        eq(p.type, "https://tools.ietf.org/html/rfc9110#section-15.5.1", "type (validation problem)")
        ok(p.errors and "username" in p.errors, f"errors has no 'username': {p.errors!r}")

    check("python: register_token with an empty username raises PasswordlessError 400 with errors.username",
          no_username)
    check("python: sign_in('invalid') raises PasswordlessError 400",
          lambda: raises_problem(lambda: client.sign_in(VerifySignIn("invalid")), 400, "sign_in('invalid')"))

    # ---- generated tokens. The SDK's VerifiedUser needs a non-null credentialId, which a
    # generated token does not have (in the original either), so it is verified over HTTP.
    def generated():
        g = client.generate_authentication_token(GenerateAuthenticationTokenOptions(user_id=user_id, time_to_live=60))
        matches(g.token, re.compile(r"^verify_[A-Za-z0-9_-]+$"), "token")
        r = requests.post(f"{BASE_URL}/signin/verify", headers={"ApiSecret": app["apiSecret1"]},
                          json={"token": g.token}, timeout=30)
        eq(r.status_code, 200, f"verify status ({r.text})")
        body = r.json()
        eq(body.get("type"), "generated_signin", "type")
        eq(body.get("userId"), user_id, "userId")

    check("python: generate_authentication_token returns a verify_ token (verified over HTTP: generated_signin)",
          generated)

    # ---- lists, parsed strictly by the SDK's marshmallow schemas ----------------------
    def credentials():
        c = need(cred, "a registered credential")
        values = client.get_credentials(user_id)
        eq(len(values), 1, "credential count")
        x = values[0]
        eq(x.descriptor.type, "public-key", "descriptor.type")
        matches(x.descriptor.id, B64URL, "descriptor.id (base64url)")
        eq(base64.urlsafe_b64decode(x.descriptor.id + "=" * (-len(x.descriptor.id) % 4)),
           base64.b64decode(c["credentialId"]), "descriptor.id (vs WebAuthn.getCredentials)")
        matches(x.public_key, STD_B64, "public_key (standard base64)")
        matches(x.user_handle, STD_B64, "user_handle (standard base64)")
        eq(base64.b64decode(x.user_handle).decode(), user_id, "user_handle decodes to the userId")
        ok(isinstance(x.signature_counter, int), "signature_counter is not an int")
        eq(x.attestation_fmt, "none", "attestation_fmt")
        ok(isinstance(x.created_at, datetime) and isinstance(x.last_user_at, datetime), "dates")
        matches(x.aa_guid, GUID, "aa_guid")
        eq(x.rp_id, "localhost", "rp_id (from the lower-case 'rpid' key)")
        eq(x.origin, cer["origin"], "origin")
        eq(x.user_id, user_id, "user_id")
        return x

    listed = check("python: get_credentials parses the credential list strictly", credentials)

    def aliases():
        values = client.get_aliases(user_id)
        eq(len(values), 1, "alias count")
        eq(values[0].user_id, user_id, "user_id")
        eq(values[0].alias, alias_hash(app_id, alias), "alias (hash)")
        eq(values[0].plaintext, None, "plaintext")
        eq(values[0].tenant, app_id, "tenant")

    check("python: get_aliases parses {userId, alias, plaintext, tenant}", aliases)

    alias2 = f"erin-{rand()}@example.com"
    set_ok = check("python: set_alias(hashing=False) succeeds",
                   lambda: client.set_alias(SetAlias(user_id=user_id, aliases=[alias2], hashing=False)) or True)

    def aliases_after():
        need(set_ok, "set_alias")
        values = client.get_aliases(user_id)
        eq([(a.alias, a.plaintext) for a in values], [(alias_hash(app_id, alias2), alias2)], "aliases")

    check("python: get_aliases after set_alias shows the plaintext alias", aliases_after)

    # requests URL-encodes ?userId=; the server must decode it back exactly.
    def odd_user_id():
        odd = f"py user+{rand(3)}&x=1#y"
        client.set_alias(SetAlias(user_id=odd, aliases=[f"odd-{rand()}@example.com"], hashing=False))
        values = client.get_aliases(odd)
        eq([a.user_id for a in values], [odd], "user ids listed")

    check("python: get_aliases with a userId that needs URL encoding (space, +, &, #)", odd_user_id)

    def users():
        need(listed, "a listed credential")
        mine = [u for u in client.get_users() if u.user_id == user_id]
        eq(len(mine), 1, "entries for the user")
        u = mine[0]
        eq(u.credentials_count, 1, "credentials_count")
        eq(u.alias_count, 1, "alias_count")
        eq(u.aliases, [alias2], "aliases (plaintext)")
        ok(isinstance(u.last_used_at, datetime), f"last_used_at: {u.last_used_at!r}")

    check("python: get_users lists the user with counts and plaintext aliases", users)

    # The SDK still sends the obsolete auditLoggingRetentionPeriod; it must be ignored (§1.1).
    check("python: update_apps_feature (obsolete field) succeeds",
          lambda: client.update_apps_feature(UpdateAppsFeature(audit_logging_retention_period=30)) or True)

    def delete_credential():
        x = need(listed, "a listed credential")
        client.delete_credential(DeleteCredential(x.descriptor.id))
        eq(client.get_credentials(user_id), [], "credentials left")

    check("python: delete_credential(descriptor.id) empties get_credentials", delete_credential)

    def delete_user():
        need(set_ok, "an alias to delete with the user")
        client.delete_user(DeleteUser(user_id))
        eq(client.get_aliases(user_id), [], "aliases left")
        eq(client.get_credentials(user_id), [], "credentials left")

    check("python: delete_user removes the user's aliases and credentials", delete_user)

    def magic_link():
        client.send_magic_link(SendMagicLinkOptions(
            email_address="ops@example.com",
            url_template="https://localhost/py-magic?token=$TOKEN",
            user_id=user_id,
            time_to_live=300,
        ))
        with open(os.environ["PASSKEYD_MAIL_FILE"], encoding="utf-8") as f:
            tokens = re.findall(r"https://localhost/py-magic\?token=(verify_[A-Za-z0-9_-]{43})", f.read())
        ok(tokens, "a magic link in the mail file")
        r = requests.post(f"{BASE_URL}/signin/verify", headers={"ApiSecret": app["apiSecret1"]},
                          json={"token": tokens[-1]}, timeout=10)
        eq(r.status_code, 200, f"verify status ({r.text})")
        eq(r.json()["type"], "magic_link", "type")
        eq(r.json()["userId"], user_id, "userId")

    check("python: send_magic_link mails a link whose token verifies as magic_link", magic_link)


if __name__ == "__main__":
    try:
        main()
    except Exception:  # a bug in the suite itself still yields a summary line
        counts["failed"] += 1
        print(f"not ok - python suite crashed: {' '.join(traceback.format_exc().split())[-400:]}", flush=True)
    print(f"python: {counts['passed']} passed, {counts['failed']} failed", flush=True)
    sys.exit(1 if counts["failed"] else 0)
