//! Bad input, table by table: every case gets its exact 4xx problem
//! *and* proof that nothing was stored or changed — the app's users, aliases, credentials
//! (signature counter, last use, key, backup flags, library record) and its tokens by kind are
//! snapshotted before and after, and must be equal except for the one ceremony session the
//! refused request used up. Cases refused before the session is read ("early") must leave the
//! session usable: each of them is followed by an honest completion of the same session.
//!
//! negatives.rs pins the basic ceremony error codes, wire.rs the body rules of
//! `/register/token`, management.rs the per-app origin allow-list and magic_links.rs the
//! single use and expiry of magic-link tokens; this file does not repeat those.
//!
//! Without an allow-list, the Passwordless.dev contract takes the expected origin from the
//! request's `Origin` field, so an origin case is refused by the WebAuthn comparison of that
//! field with clientDataJSON's `origin`. Both directions are covered: a look-alike in
//! clientDataJSON with the right request Origin, and a look-alike request Origin with the
//! right clientDataJSON.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use ciborium::Value as Cbor;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, Signature, SigningKey};
use serde_json::{json, Value};

use crate::ceremonies::{register, sign_in};
use crate::support::authenticator::{
    b64url, b64url_decode, TestAuthenticator, Tweaks, FLAG_BE, FLAG_BS, FLAG_ED, FLAG_UP, FLAG_UV,
};
use crate::support::server::{backend, Backend, Resp, TestApp, TestServer, ORIGIN, RP_ID};

// ---- Proof that nothing changed ----------------------------------------------------------

/// Reads the tokens table directly: the store has no listing of tokens.
enum Probe {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Probe {
    async fn open(server: &TestServer) -> Self {
        match backend() {
            Backend::Sqlite => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(&server.database_url)
                    .expect("SQLite URL")
                    .read_only(true);
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await
                    .expect("open the test database read-only");
                Self::Sqlite(pool)
            }
            Backend::Postgres => Self::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&server.database_url)
                    .await
                    .expect("connect to the test schema"),
            ),
        }
    }

    /// Live tokens of an app by kind (`register`, `register_session`, `signin_session`,
    /// `verify`).
    async fn tokens(&self, app_id: &str) -> BTreeMap<String, i64> {
        const SQL: &str = "select kind, count(*) from tokens where app_id = $1 group by kind";
        let rows: Vec<(String, i64)> = match self {
            Self::Sqlite(pool) => sqlx::query_as(SQL).bind(app_id).fetch_all(pool).await,
            Self::Postgres(pool) => sqlx::query_as(SQL).bind(app_id).fetch_all(pool).await,
        }
        .expect("count tokens");
        rows.into_iter().collect()
    }

    async fn snapshot(&self, server: &TestServer, app_id: &str) -> Snapshot {
        let store = &server.state.store;
        let mut users = Vec::new();
        for user in store.list_users(app_id, 10_000).await.expect("list users") {
            let mut credentials: Vec<CredentialState> = store
                .list_credentials(app_id, &user.user_id)
                .await
                .expect("list credentials")
                .into_iter()
                .map(|c| CredentialState {
                    id: b64url(&c.credential_id),
                    user_handle: b64url(&c.user_handle),
                    public_key: b64url(&c.public_key),
                    sign_count: c.sign_count,
                    last_used_at: c.last_used_at,
                    created_at: c.created_at,
                    device: c.device,
                    country: c.country,
                    nickname: c.nickname,
                    backup_state: c.backup_state,
                    backup_eligible: c.backup_eligible,
                    webauthn: c.webauthn,
                })
                .collect();
            credentials.sort_by(|a, b| a.id.cmp(&b.id));
            users.push(UserState {
                user_id: user.user_id,
                aliases: user.aliases,
                credentials_count: user.credentials_count,
                last_used_at: user.last_used_at,
                credentials,
            });
        }
        users.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        Snapshot {
            user_count: store.count_users(app_id).await.expect("count users"),
            credential_count: store
                .count_credentials(app_id)
                .await
                .expect("count credentials"),
            users,
            tokens: self.tokens(app_id).await,
        }
    }
}

/// Everything a refused request could have changed for one app.
#[derive(Debug, Clone, PartialEq)]
struct Snapshot {
    user_count: i64,
    credential_count: i64,
    users: Vec<UserState>,
    tokens: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq)]
struct UserState {
    user_id: String,
    aliases: Vec<Option<String>>,
    credentials_count: i64,
    last_used_at: Option<DateTime<Utc>>,
    credentials: Vec<CredentialState>,
}

#[derive(Debug, Clone, PartialEq)]
struct CredentialState {
    id: String,
    user_handle: String,
    public_key: String,
    sign_count: u32,
    last_used_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    device: Option<String>,
    country: Option<String>,
    nickname: Option<String>,
    backup_state: Option<bool>,
    backup_eligible: Option<bool>,
    webauthn: String,
}

impl Snapshot {
    fn tokens_of(&self, kind: &str) -> i64 {
        self.tokens.get(kind).copied().unwrap_or(0)
    }

    fn credential(&self, id: &[u8]) -> Option<&CredentialState> {
        let id = b64url(id);
        self.users
            .iter()
            .flat_map(|u| &u.credentials)
            .find(|c| c.id == id)
    }

    /// `self` with one session of `kind` used up (or none).
    fn minus_session(&self, kind: Option<&str>) -> Self {
        let mut expected = self.clone();
        // Ceremony sessions are sealed into their tokens, not stored: a refusal leaves no trace.
        if let Some(kind) = kind.filter(|k| !k.ends_with("_session")) {
            let count = expected.tokens.entry(kind.to_owned()).or_insert(0);
            *count -= 1;
            if *count == 0 {
                expected.tokens.remove(kind);
            }
        }
        expected
    }
}

/// `Err(message)` unless `cond`: table cases collect failures instead of stopping at the first.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

/// `after` must equal `before` except for the one session of `used_session` the request used.
fn check_unchanged(
    case: &str,
    before: &Snapshot,
    after: &Snapshot,
    used_session: Option<&str>,
) -> Result<(), String> {
    let expected = before.minus_session(used_session);
    if &expected == after {
        return Ok(());
    }
    // Only the lines that differ: the library records are long.
    let expected = format!("{expected:#?}");
    let after = format!("{after:#?}");
    let (expected, after): (Vec<&str>, Vec<&str>) =
        (expected.lines().collect(), after.lines().collect());
    let differences: Vec<String> = (0..expected.len().max(after.len()))
        .filter(|i| expected.get(*i) != after.get(*i))
        .take(12)
        .map(|i| {
            format!(
                "    expected {}\n    found    {}",
                expected.get(i).unwrap_or(&"(nothing)").trim(),
                after.get(i).unwrap_or(&"(nothing)").trim()
            )
        })
        .collect();
    Err(format!(
        "{case}: stored state changed (sessions it may use up: {used_session:?}):\n{}",
        differences.join("\n")
    ))
}

/// The exact problem document: status, errorCode, content type.
fn check_problem(case: &str, r: &Resp, status: u16, code: &str) -> Result<(), String> {
    ensure!(
        r.status == status
            && r.body["errorCode"] == code
            && r.body["status"] == status
            && r.header("content-type") == Some("application/problem+json"),
        "{case}: expected {status} {code}, got {} {}: {}",
        r.status,
        r.header("content-type").unwrap_or_default(),
        r.text
    );
    Ok(())
}

#[track_caller]
fn assert_unchanged(case: &str, before: &Snapshot, after: &Snapshot, used_session: Option<&str>) {
    if let Err(e) = check_unchanged(case, before, after, used_session) {
        panic!("{e}");
    }
}

#[track_caller]
fn assert_problem(case: &str, r: &Resp, status: u16, code: &str) {
    if let Err(e) = check_problem(case, r, status, code) {
        panic!("{e}");
    }
}

/// Fails the test with every case that did not behave as its row says.
fn report(table: &str, results: Vec<Result<(), String>>) {
    let total = results.len();
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        failures.is_empty(),
        "{table}: {} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---- Tables ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Refused after the ceremony session was read: the session is used up, nothing else.
    Refused(u16, &'static str),
    /// Refused before the session was read: nothing changes and the session still works.
    RefusedEarly(u16, &'static str),
    /// Accepted: pins behaviour that is correct (e.g. URL normalisation), see the case name.
    Accepted,
}

const BAD_REGISTRATION: Expect = Expect::Refused(400, "fido2_invalid_registration");
const BAD_SIGNIN: Expect = Expect::Refused(400, "signin_complete_error");

/// A change to the credential JSON after the authenticator made it.
type Edit = Box<dyn Fn(&mut Value)>;

/// One ceremony case: how the browser's answer is forged, and what the server must say.
struct Case {
    name: String,
    /// Extra fields for `/register/token`, or for `/signin/begin` (e.g. `purpose`).
    begin: Value,
    /// The request's `Origin` field.
    request_origin: &'static str,
    tweaks: Tweaks,
    /// A change to the credential JSON after the authenticator made it.
    edit: Option<Edit>,
    /// Sign-in: index of the registered user that answers.
    user: usize,
    expect: Expect,
}

fn case(name: impl Into<String>, expect: Expect) -> Case {
    Case {
        name: name.into(),
        begin: json!({}),
        request_origin: ORIGIN,
        tweaks: Tweaks::default(),
        edit: None,
        user: 0,
        expect,
    }
}

impl Case {
    fn tweaks(mut self, tweaks: Tweaks) -> Self {
        self.tweaks = tweaks;
        self
    }

    fn request_origin(mut self, origin: &'static str) -> Self {
        self.request_origin = origin;
        self
    }

    fn begin(mut self, fields: Value) -> Self {
        self.begin = fields;
        self
    }

    fn edit(mut self, edit: impl Fn(&mut Value) + 'static) -> Self {
        self.edit = Some(Box::new(edit));
        self
    }

    fn user(mut self, user: usize) -> Self {
        self.user = user;
        self
    }
}

fn client_origin(origin: &str) -> Tweaks {
    Tweaks {
        client_data_origin: Some(origin.to_owned()),
        ..Tweaks::default()
    }
}

fn flags(flags: u8) -> Tweaks {
    Tweaks {
        flags: Some(flags),
        ..Tweaks::default()
    }
}

fn cose_key(bytes: Vec<u8>) -> Tweaks {
    Tweaks {
        cose_key_override: Some(bytes),
        ..Tweaks::default()
    }
}

fn alg(alg: i64) -> Tweaks {
    Tweaks {
        alg: Some(alg),
        ..Tweaks::default()
    }
}

fn merge(mut base: Value, extra: &Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    base
}

/// Origins that must never match `https://example.com`.
const LOOK_ALIKES: [(&str, &str); 5] = [
    ("suffix look-alike", "https://evil-example.com"),
    ("subdomain of another site", "https://example.com.evil.com"),
    ("http scheme", "http://example.com"),
    ("other port", "https://example.com:8443"),
    ("trailing dot", "https://example.com."),
];

/// The cases about clientDataJSON and the origin, shared by registration and sign-in.
fn origin_cases(refused: Expect) -> Vec<Case> {
    let mut cases = Vec::new();
    for (what, origin) in LOOK_ALIKES {
        cases.push(
            case(format!("clientDataJSON origin: {what} {origin}"), refused)
                .tweaks(client_origin(origin)),
        );
        cases.push(
            case(
                format!("request Origin: {what} {origin} (clientDataJSON is right)"),
                refused,
            )
            .request_origin(origin),
        );
    }
    cases.extend([
        // Not a URL: the library cannot parse clientDataJSON.
        case("clientDataJSON origin: null", refused).tweaks(client_origin("null")),
        // Not a URL: refused as the request is read, before the session.
        case(
            "request Origin: null",
            Expect::RefusedEarly(400, "invalid_origin"),
        )
        .request_origin("null"),
        // URL parsing lower-cases the host (WHATWG URL, RFC 3986 §6.2.2.1) and drops the
        // default port, so these are the same origin as https://example.com, and a browser
        // would serialise them exactly so. Refusing them would gain nothing.
        case(
            "clientDataJSON origin: upper-case host is the same origin",
            Expect::Accepted,
        )
        .tweaks(client_origin("https://EXAMPLE.COM")),
        case(
            "request Origin: upper-case host is the same origin",
            Expect::Accepted,
        )
        .request_origin("https://Example.Com"),
        case(
            "clientDataJSON origin: explicit default port is the same origin",
            Expect::Accepted,
        )
        .tweaks(client_origin("https://example.com:443")),
        case("crossOrigin: true", refused).tweaks(Tweaks {
            cross_origin: Some(true),
            ..Tweaks::default()
        }),
        case("topOrigin with crossOrigin: false", refused).tweaks(Tweaks {
            top_origin: Some("https://embedder.example.net".into()),
            ..Tweaks::default()
        }),
        case("crossOrigin: true and a topOrigin", refused).tweaks(Tweaks {
            cross_origin: Some(true),
            top_origin: Some("https://embedder.example.net".into()),
            ..Tweaks::default()
        }),
        case("rpIdHash of another RP", refused).tweaks(Tweaks {
            rp_id_for_hash: Some("evil.com".into()),
            ..Tweaks::default()
        }),
        case("rpIdHash of a parent domain", refused).tweaks(Tweaks {
            rp_id_for_hash: Some("com".into()),
            ..Tweaks::default()
        }),
    ]);
    cases
}

// ---- Registration ------------------------------------------------------------------------

/// Runs registration cases on one app, each for a fresh user `reg-<n>` with an alias.
async fn run_registration_cases(server: &TestServer, table_name: &str, table: Vec<Case>) {
    let app = server.create_app("badreg").await;
    let probe = Probe::open(server).await;
    let mut results = Vec::new();
    for (n, case) in table.iter().enumerate() {
        let result = registration_case(server, &app, &probe, &format!("reg-{n}"), case).await;
        results.push(result);
    }
    report(table_name, results);
}

async fn registration_case(
    server: &TestServer,
    app: &TestApp<'_>,
    probe: &Probe,
    user_id: &str,
    case: &Case,
) -> Result<(), String> {
    let name = case.name.as_str();
    let token_request = merge(
        json!({"userId": user_id, "username": format!("{user_id}@example.com"), "aliases": [format!("{user_id}@example.com")]}),
        &case.begin,
    );
    let (options, session) = app.register_begin(&token_request).await;
    let mut credential = TestAuthenticator::new().create_with(&options, ORIGIN, &case.tweaks);
    if let Some(edit) = &case.edit {
        edit(&mut credential);
    }
    // A write that should not happen would carry this new time.
    server.clock.advance(Duration::seconds(1));
    let before = probe.snapshot(server, &app.app_id).await;
    let r = app
        .browser(
            "/register/complete",
            &json!({"session": session, "response": credential, "nickname": "key", "Origin": case.request_origin, "RPID": RP_ID}),
        )
        .await;
    let after = probe.snapshot(server, &app.app_id).await;
    match case.expect {
        Expect::Refused(status, code) => {
            check_problem(name, &r, status, code)?;
            check_unchanged(name, &before, &after, Some("register_session"))?;
            let retry = app.register_complete(&session, &credential).await;
            check_problem(
                &format!("{name} (the session is used up)"),
                &retry,
                400,
                "invalid_token",
            )?;
        }
        Expect::RefusedEarly(status, code) => {
            check_problem(name, &r, status, code)?;
            check_unchanged(name, &before, &after, None)?;
            let honest = TestAuthenticator::new().create(&options, ORIGIN);
            let r = app.register_complete(&session, &honest).await;
            ensure!(
                r.status == 200,
                "{name}: the session should still work: {}",
                r.text
            );
        }
        Expect::Accepted => {
            ensure!(r.status == 200, "{name}: expected success: {}", r.text);
            ensure!(
                after.user_count == before.user_count + 1
                    && after.tokens_of("verify") == before.tokens_of("verify") + 1,
                "{name}: one new user and one verify token"
            );
        }
    }
    let stored = server
        .state
        .store
        .list_credentials(&app.app_id, user_id)
        .await
        .expect("list credentials");
    let expected = usize::from(!matches!(case.expect, Expect::Refused(..)));
    ensure!(
        stored.len() == expected,
        "{name}: {} credential(s) stored for {user_id}, expected {expected}",
        stored.len()
    );
    Ok(())
}

#[tokio::test]
async fn registration_origin_and_client_data() {
    let server = TestServer::start().await;
    let mut table = origin_cases(BAD_REGISTRATION);
    table.extend([
        case("clientDataJSON type webauthn.get", BAD_REGISTRATION).tweaks(Tweaks {
            client_data_type: Some("webauthn.get".into()),
            ..Tweaks::default()
        }),
        case("clientDataJSON with a byte-order mark", BAD_REGISTRATION).edit(|c| {
            // UTF-8 decode would strip it, but no browser sends one; refusing is safe.
            edit_b64(c, "/response/clientDataJSON", |d| {
                [&[0xEF, 0xBB, 0xBF][..], &d].concat()
            });
        }),
        case("clientDataJSON that is not UTF-8", BAD_REGISTRATION).edit(|c| {
            edit_b64(c, "/response/clientDataJSON", |d| {
                replace_text(&d, "\"webauthn.create\"", "\"webauthn.create\u{ff}\"")
            });
        }),
        case("clientDataJSON with a duplicate origin", BAD_REGISTRATION).edit(|c| {
            edit_b64(c, "/response/clientDataJSON", |d| {
                replace_text(
                    &d,
                    "\"origin\":",
                    "\"origin\":\"https://evil-example.com\",\"origin\":",
                )
            });
        }),
        case("clientDataJSON with a duplicate type", BAD_REGISTRATION).edit(|c| {
            edit_b64(c, "/response/clientDataJSON", |d| {
                replace_text(&d, "\"type\":", "\"type\":\"webauthn.get\",\"type\":")
            });
        }),
        case(
            "clientDataJSON with a duplicate crossOrigin (true, then false)",
            BAD_REGISTRATION,
        )
        .edit(|c| {
            edit_b64(c, "/response/clientDataJSON", |d| {
                replace_text(
                    &d,
                    "\"crossOrigin\":",
                    "\"crossOrigin\":true,\"crossOrigin\":",
                )
            });
        }),
        // Clients may add members; a large unknown one is ignored.
        case(
            "clientDataJSON with an extra 64 KiB member",
            Expect::Accepted,
        )
        .edit(|c| {
            edit_b64(c, "/response/clientDataJSON", |d| {
                let mut text = String::from_utf8(d).expect("UTF-8");
                text.pop();
                text.push_str(&format!(",\"padding\":\"{}\"}}", "x".repeat(64 * 1024)));
                text.into_bytes()
            });
        }),
    ]);
    run_registration_cases(&server, "registration_origin_and_client_data", table).await;
}

#[tokio::test]
async fn registration_authenticator_data() {
    let server = TestServer::start().await;
    let uv_required = json!({"userVerification": "required"});
    let table = vec![
        case("UP=0", BAD_REGISTRATION).tweaks(flags(FLAG_UV)),
        case("UP=0 and UV=0", BAD_REGISTRATION).tweaks(flags(0)),
        case("UV=0 when the register token requires UV", BAD_REGISTRATION)
            .begin(uv_required.clone())
            .tweaks(flags(FLAG_UP)),
        case("UV=1 when the register token requires UV", Expect::Accepted)
            .begin(uv_required)
            .tweaks(flags(FLAG_UP | FLAG_UV)),
        case("UV=0 when UV is only preferred", Expect::Accepted).tweaks(flags(FLAG_UP)),
        case("BS=1 with BE=0", BAD_REGISTRATION).tweaks(flags(FLAG_UP | FLAG_UV | FLAG_BS)),
        case("BE=1 and BS=1 (a synced passkey)", Expect::Accepted)
            .tweaks(flags(FLAG_UP | FLAG_UV | FLAG_BE | FLAG_BS)),
        case("ED set without extension data", BAD_REGISTRATION)
            .tweaks(flags(FLAG_UP | FLAG_UV | FLAG_ED)),
        // WebAuthn §6.1: without ED the authenticator data ends after the attested credential
        // data. fido2-net-lib (the original's library) refuses "Leftover bytes decoding
        // AuthenticatorData"; py_webauthn#265 shows what slicing them into the key does.
        case("trailing bytes after the COSE key", BAD_REGISTRATION).tweaks(Tweaks {
            trailing_auth_data: Some(vec![0x00, 0x01, 0x02]),
            ..Tweaks::default()
        }),
        case(
            "an extension map after the COSE key without ED",
            BAD_REGISTRATION,
        )
        .tweaks(Tweaks {
            trailing_auth_data: Some(cbor(&Cbor::Map(vec![(
                Cbor::Text("credProtect".into()),
                Cbor::Integer(1.into()),
            )]))),
            ..Tweaks::default()
        }),
        case("challenge of another ceremony", BAD_REGISTRATION).tweaks(Tweaks {
            challenge: Some(b64url(&[7; 32])),
            ..Tweaks::default()
        }),
    ];
    run_registration_cases(&server, "registration_authenticator_data", table).await;
}

#[tokio::test]
async fn registration_credential_public_key() {
    let server = TestServer::start().await;
    let (x, y) = p256_point();
    let ec2 = |kty: i64, alg: i64, crv: i64| {
        cose_map(&[
            (1, int(kty)),
            (3, int(alg)),
            (-1, int(crv)),
            (-2, Cbor::Bytes(x.clone())),
            (-3, Cbor::Bytes(y.clone())),
        ])
    };
    let mut off_curve_y = y.clone();
    off_curve_y[31] ^= 0x01;
    let mut long_x = vec![0];
    long_x.extend_from_slice(&x);
    let key_with = |x: Vec<u8>, y: Vec<u8>| {
        cose_map(&[
            (1, int(2)),
            (3, int(-7)),
            (-1, int(1)),
            (-2, Cbor::Bytes(x)),
            (-3, Cbor::Bytes(y)),
        ])
    };
    // Indefinite-length forms (CTAP2 canonical CBOR forbids them).
    let mut indefinite_map = vec![0xBF];
    for (label, value) in [
        (1, int(2)),
        (3, int(-7)),
        (-1, int(1)),
        (-2, Cbor::Bytes(x.clone())),
        (-3, Cbor::Bytes(y.clone())),
    ] {
        indefinite_map.extend(cbor(&int(label)));
        indefinite_map.extend(cbor(&value));
    }
    indefinite_map.push(0xFF);
    let mut indefinite_x = vec![0xA5];
    for (label, value) in [(1, int(2)), (3, int(-7)), (-1, int(1))] {
        indefinite_x.extend(cbor(&int(label)));
        indefinite_x.extend(cbor(&value));
    }
    indefinite_x.extend(cbor(&int(-2)));
    indefinite_x.extend([0x5F, 0x50]);
    indefinite_x.extend_from_slice(&x[..16]);
    indefinite_x.push(0x50);
    indefinite_x.extend_from_slice(&x[16..]);
    indefinite_x.push(0xFF);
    indefinite_x.extend(cbor(&int(-3)));
    indefinite_x.extend(cbor(&Cbor::Bytes(y.clone())));
    // A map that announces five entries and holds four.
    let mut short_map = cose_map(&[
        (1, int(2)),
        (3, int(-7)),
        (-1, int(1)),
        (-2, Cbor::Bytes(x.clone())),
    ]);
    short_map[0] = 0xA5;

    let table = vec![
        // Offered: ES256 (-7), RS256 (-257), ES384 (-35).
        case(
            "alg -8 (EdDSA, not offered) on a P-256 key",
            BAD_REGISTRATION,
        )
        .tweaks(alg(-8)),
        case("alg -257 (RS256) on a P-256 key", BAD_REGISTRATION).tweaks(alg(-257)),
        case(
            "alg -65535 (RS1, not offered) on a P-256 key",
            BAD_REGISTRATION,
        )
        .tweaks(alg(-65535)),
        case(
            "alg -36 (ES512, not offered) on a P-256 key",
            BAD_REGISTRATION,
        )
        .tweaks(alg(-36)),
        // WebAuthn §5.8.5: keys with ES384 MUST specify P-384 (2) as crv.
        case("alg -35 (ES384) with crv P-256", BAD_REGISTRATION).tweaks(alg(-35)),
        case("alg -7 (ES256) with a P-384 key", BAD_REGISTRATION).tweaks(cose_key(p384_key(-7))),
        case(
            "alg -35 (ES384) with a P-384 key (control)",
            Expect::Accepted,
        )
        .tweaks(cose_key(p384_key(-35))),
        case("a well-formed ES256 key (control)", Expect::Accepted).tweaks(cose_key(ec2(2, -7, 1))),
        case("duplicate kty label (EC2, then RSA)", BAD_REGISTRATION).tweaks(cose_key(cose_map(
            &[
                (1, int(2)),
                (3, int(-7)),
                (-1, int(1)),
                (-2, Cbor::Bytes(x.clone())),
                (-3, Cbor::Bytes(y.clone())),
                (1, int(3)),
            ],
        ))),
        // RFC 9052 §3: applications MUST NOT parse and process a map with a label used twice.
        case("duplicate kty label (RSA, then EC2)", BAD_REGISTRATION).tweaks(cose_key(cose_map(
            &[
                (1, int(3)),
                (3, int(-7)),
                (-1, int(1)),
                (-2, Cbor::Bytes(x.clone())),
                (-3, Cbor::Bytes(y.clone())),
                (1, int(2)),
            ],
        ))),
        case("duplicate crv label with the same value", BAD_REGISTRATION).tweaks(cose_key(
            cose_map(&[
                (1, int(2)),
                (3, int(-7)),
                (-1, int(1)),
                (-1, int(1)),
                (-2, Cbor::Bytes(x.clone())),
                (-3, Cbor::Bytes(y.clone())),
            ]),
        )),
        case("kty 3 (RSA) with EC2 parameters", BAD_REGISTRATION).tweaks(cose_key(ec2(3, -7, 1))),
        case(
            "kty 3 (RSA) and alg RS256 with EC2 parameters",
            BAD_REGISTRATION,
        )
        .tweaks(cose_key(ec2(3, -257, 1))),
        case("kty 1 (OKP) with EC2 parameters", BAD_REGISTRATION).tweaks(cose_key(ec2(1, -7, 1))),
        case("crv 2 (P-384) with P-256 coordinates", BAD_REGISTRATION)
            .tweaks(cose_key(ec2(2, -7, 2))),
        case("crv 6 (Ed25519) in an EC2 key", BAD_REGISTRATION).tweaks(cose_key(ec2(2, -7, 6))),
        case("crv missing", BAD_REGISTRATION).tweaks(cose_key(cose_map(&[
            (1, int(2)),
            (3, int(-7)),
            (-2, Cbor::Bytes(x.clone())),
            (-3, Cbor::Bytes(y.clone())),
        ]))),
        case("a point not on the curve", BAD_REGISTRATION)
            .tweaks(cose_key(key_with(x.clone(), off_curve_y))),
        case("the identity (all-zero) point", BAD_REGISTRATION)
            .tweaks(cose_key(key_with(vec![0; 32], vec![0; 32]))),
        case("a 33-byte x coordinate", BAD_REGISTRATION)
            .tweaks(cose_key(key_with(long_x, y.clone()))),
        case("CBOR null as the key", BAD_REGISTRATION).tweaks(cose_key(vec![0xF6])),
        case("an empty map as the key", BAD_REGISTRATION).tweaks(cose_key(vec![0xA0])),
        case("a CBOR array as the key", BAD_REGISTRATION)
            .tweaks(cose_key(cbor(&Cbor::Array(vec![int(2), int(-7)])))),
        case("a map that ends early", BAD_REGISTRATION).tweaks(cose_key(short_map)),
        case("an indefinite-length map", BAD_REGISTRATION).tweaks(cose_key(indefinite_map)),
        case("an indefinite-length x coordinate", BAD_REGISTRATION).tweaks(cose_key(indefinite_x)),
    ];
    run_registration_cases(&server, "registration_credential_public_key", table).await;
}

#[tokio::test]
async fn registration_attestation_object() {
    let server = TestServer::start().await;
    let table = vec![
        case("attestationObject that is not CBOR", BAD_REGISTRATION).edit(|c| {
            edit_b64(c, "/response/attestationObject", |_| {
                b"not cbor \xff".to_vec()
            });
        }),
        case("attestationObject that is a CBOR array", BAD_REGISTRATION).edit(|c| {
            edit_attestation(c, |fields| {
                Cbor::Array(fields.into_iter().map(|(_, v)| v).collect())
            });
        }),
        case("attestationObject without authData", BAD_REGISTRATION).edit(|c| {
            edit_attestation(c, |fields| {
                Cbor::Map(
                    fields
                        .into_iter()
                        .filter(|(k, _)| k.as_text() != Some("authData"))
                        .collect(),
                )
            });
        }),
        case("attestationObject without fmt", BAD_REGISTRATION).edit(|c| {
            edit_attestation(c, |fields| {
                Cbor::Map(
                    fields
                        .into_iter()
                        .filter(|(k, _)| k.as_text() != Some("fmt"))
                        .collect(),
                )
            });
        }),
        case("authData of 36 bytes", BAD_REGISTRATION).edit(|c| {
            edit_auth_data(c, |mut d| {
                d.truncate(36);
                d
            });
        }),
        case("credential id length beyond the authData", BAD_REGISTRATION).edit(|c| {
            edit_auth_data(c, |mut d| {
                d[53..55].copy_from_slice(&1000u16.to_be_bytes());
                d
            });
        }),
        case("unknown fmt", BAD_REGISTRATION).tweaks(Tweaks {
            attestation_fmt: Some("fido-u3f".into()),
            ..Tweaks::default()
        }),
        // WebAuthn §7.1: fmt is matched case-sensitively.
        case("fmt None (differs only in case)", BAD_REGISTRATION).tweaks(Tweaks {
            attestation_fmt: Some("None".into()),
            ..Tweaks::default()
        }),
        case("fmt NONE", BAD_REGISTRATION).tweaks(Tweaks {
            attestation_fmt: Some("NONE".into()),
            ..Tweaks::default()
        }),
        case("fmt Packed", BAD_REGISTRATION).tweaks(Tweaks {
            attestation_fmt: Some("Packed".into()),
            ..Tweaks::default()
        }),
        case(
            "packed self-attestation with a bad signature",
            BAD_REGISTRATION,
        )
        .tweaks(Tweaks {
            attestation_fmt: Some("packed".into()),
            tamper_signature: true,
            ..Tweaks::default()
        }),
        case("packed without attStmt.sig", BAD_REGISTRATION).tweaks(Tweaks {
            attestation_fmt: Some("packed".into()),
            signature: Some(Vec::new()),
            ..Tweaks::default()
        }),
        case(
            "rawId that is not the attested credential id",
            BAD_REGISTRATION,
        )
        .tweaks(Tweaks {
            response_credential_id: Some(vec![9; 16]),
            ..Tweaks::default()
        }),
        // decode_b64url: an empty rawId is a missing field, found before the session is read.
        case(
            "credential id of 0 bytes",
            Expect::RefusedEarly(400, "validation_error"),
        )
        .tweaks(Tweaks {
            credential_id: Some(Vec::new()),
            ..Tweaks::default()
        }),
        case(
            "clientDataJSON in standard base64",
            Expect::RefusedEarly(400, "validation_error"),
        )
        .edit(|c| {
            c["response"]["clientDataJSON"] = json!("a+b/");
        }),
    ];
    run_registration_cases(&server, "registration_attestation_object", table).await;
}

/// WebAuthn §7.1: credential ids longer than 1,023 bytes are refused; 1,023 works end to end.
/// A credential id already registered is refused, for the same user and for another one.
#[tokio::test]
async fn credential_id_boundary_and_duplicates() {
    let server = TestServer::start().await;
    let app = server.create_app("credids").await;
    let probe = Probe::open(&server).await;

    // 1,024 bytes: refused, nothing stored.
    let (options, session) = app
        .register_begin(
            &json!({"userId": "long", "username": "long", "aliases": ["long@example.com"]}),
        )
        .await;
    let too_long = Tweaks {
        credential_id: Some(vec![0x5A; 1024]),
        ..Tweaks::default()
    };
    let credential = TestAuthenticator::new().create_with(&options, ORIGIN, &too_long);
    let before = probe.snapshot(&server, &app.app_id).await;
    let r = app.register_complete(&session, &credential).await;
    let after = probe.snapshot(&server, &app.app_id).await;
    assert_problem(
        "1,024-byte credential id",
        &r,
        400,
        "fido2_invalid_registration",
    );
    assert_unchanged(
        "1,024-byte credential id",
        &before,
        &after,
        Some("register_session"),
    );

    // 1,023 bytes: the longest allowed id registers and signs in.
    let mut auth = TestAuthenticator::new();
    let (options, session) = app
        .register_begin(&json!({"userId": "long", "username": "long"}))
        .await;
    let longest = Tweaks {
        credential_id: Some(vec![0x5B; 1023]),
        ..Tweaks::default()
    };
    let credential = auth.create_with(&options, ORIGIN, &longest);
    app.register_complete(&session, &credential).await.ok();
    let (options, _) = app.signin_begin(&json!({"userId": "long"})).await;
    assert_eq!(
        options["allowCredentials"][0]["id"],
        json!(b64url(&[0x5B; 1023]))
    );
    let token = sign_in(
        &app,
        &mut auth,
        &json!({"userId": "long"}),
        &Tweaks::default(),
    )
    .await;
    let v = app.verify(&token).await;
    assert_eq!(v.ok()["userId"], "long");

    // An id already registered: for the same user (a client ignoring excludeCredentials) and
    // for another user. The stored credential keeps its key, and still signs in.
    let mut owner = TestAuthenticator::new();
    register(&app, &mut owner, "owner", &[]).await;
    let id = owner.credentials()[0].id.clone();
    for (name, user_id) in [
        ("id already registered to the same user", "owner"),
        ("id already registered to another user", "thief"),
    ] {
        let (options, session) = app
            .register_begin(&json!({"userId": user_id, "username": user_id, "aliases": [format!("{user_id}@example.com")]}))
            .await;
        let again = Tweaks {
            credential_id: Some(id.clone()),
            ignore_exclude_credentials: true,
            ..Tweaks::default()
        };
        // Another authenticator: a new key under the same id.
        let credential = TestAuthenticator::new().create_with(&options, ORIGIN, &again);
        server.clock.advance(Duration::seconds(1));
        let before = probe.snapshot(&server, &app.app_id).await;
        let r = app.register_complete(&session, &credential).await;
        let after = probe.snapshot(&server, &app.app_id).await;
        assert_problem(name, &r, 400, "fido2_invalid_registration");
        assert_unchanged(name, &before, &after, Some("register_session"));
        assert!(
            after
                .credential(&id)
                .is_some_and(|c| c.user_handle == b64url(b"owner")),
            "{name}: the credential still belongs to its owner"
        );
    }
    sign_in(
        &app,
        &mut owner,
        &json!({"userId": "owner"}),
        &Tweaks::default(),
    )
    .await;
}

// ---- Sign-in -----------------------------------------------------------------------------

/// The users every sign-in case can answer as.
const SIGNIN_USERS: [&str; 3] = ["uv-user", "no-uv-user", "synced-user"];
const UV_USER: usize = 0;
const NO_UV_USER: usize = 1;
const SYNCED_USER: usize = 2;

/// An app with three users (UV+BE=0, UV=0, BE=1+BS=1) and a purpose `pay` that requires UV.
async fn signin_app<'a>(
    server: &'a TestServer,
    app_id: &str,
) -> (TestApp<'a>, Vec<TestAuthenticator>) {
    let app = server.create_app(app_id).await;
    let r = app
        .backend(
            "/auth-configs/add",
            &json!({"purpose": "pay", "userVerificationRequirement": "required", "performedBy": "tests"}),
        )
        .await;
    assert_eq!(r.status, 201, "add the purpose: {}", r.text);
    let mut auths = vec![TestAuthenticator::new(); 3];
    auths[NO_UV_USER].user_verifying = false;
    auths[SYNCED_USER].backup_eligible = true;
    auths[SYNCED_USER].backup_state = true;
    for (auth, user) in auths.iter_mut().zip(SIGNIN_USERS) {
        register(&app, auth, user, &[]).await;
    }
    (app, auths)
}

/// Runs sign-in cases built by `table` from the registered authenticators.
async fn run_signin_cases(
    server: &TestServer,
    app_id: &str,
    table: impl FnOnce(&[TestAuthenticator]) -> Vec<Case>,
) {
    let (app, mut auths) = signin_app(server, app_id).await;
    let probe = Probe::open(server).await;
    let table = table(&auths);
    let mut results = Vec::new();
    for case in &table {
        let auth = &mut auths[case.user];
        let result = signin_case(server, &app, &probe, auth, case).await;
        results.push(result);
    }
    report(app_id, results);
    // After all that, every user still signs in.
    for (auth, user) in auths.iter_mut().zip(SIGNIN_USERS) {
        sign_in(&app, auth, &json!({"userId": user}), &Tweaks::default()).await;
    }
}

async fn signin_case(
    server: &TestServer,
    app: &TestApp<'_>,
    probe: &Probe,
    auth: &mut TestAuthenticator,
    case: &Case,
) -> Result<(), String> {
    let name = case.name.as_str();
    let credential_id = auth.credentials()[0].id.clone();
    let (options, session) = app
        .signin_begin(&merge(
            json!({"userId": SIGNIN_USERS[case.user]}),
            &case.begin,
        ))
        .await;
    let mut assertion = auth.get_with(&options, ORIGIN, &case.tweaks);
    if let Some(edit) = &case.edit {
        edit(&mut assertion);
    }
    // A sign-in that should not happen would stamp this new time on the credential.
    server.clock.advance(Duration::seconds(1));
    let before = probe.snapshot(server, &app.app_id).await;
    let r = app
        .browser(
            "/signin/complete",
            &json!({"session": session, "response": assertion, "Origin": case.request_origin, "RPID": RP_ID}),
        )
        .await;
    let after = probe.snapshot(server, &app.app_id).await;
    match case.expect {
        Expect::Refused(status, code) => {
            check_problem(name, &r, status, code)?;
            check_unchanged(name, &before, &after, Some("signin_session"))?;
            let retry = app.signin_complete(&session, &assertion).await;
            check_problem(
                &format!("{name} (the session is used up)"),
                &retry,
                400,
                "invalid_token",
            )?;
        }
        Expect::RefusedEarly(status, code) => {
            check_problem(name, &r, status, code)?;
            check_unchanged(name, &before, &after, None)?;
            let honest = auth.get(&options, ORIGIN);
            let r = app.signin_complete(&session, &honest).await;
            ensure!(
                r.status == 200,
                "{name}: the session should still work: {}",
                r.text
            );
        }
        Expect::Accepted => {
            ensure!(r.status == 200, "{name}: expected success: {}", r.text);
            let was = before.credential(&credential_id).expect("credential");
            let now = after.credential(&credential_id).expect("credential");
            ensure!(
                now.last_used_at > was.last_used_at
                    && after.tokens_of("verify") == before.tokens_of("verify") + 1,
                "{name}: the credential is marked used and one verify token issued"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn sign_in_origin_and_client_data() {
    let server = TestServer::start().await;
    let mut table = origin_cases(BAD_SIGNIN);
    table.push(
        case("clientDataJSON type webauthn.create", BAD_SIGNIN).tweaks(Tweaks {
            client_data_type: Some("webauthn.create".into()),
            ..Tweaks::default()
        }),
    );
    run_signin_cases(&server, "badsignin", |_| table).await;
}

#[tokio::test]
async fn sign_in_authenticator_data() {
    let server = TestServer::start().await;
    let pay = json!({"purpose": "pay"});
    let table = vec![
        case("UP=0", BAD_SIGNIN).tweaks(flags(FLAG_UV)),
        case("UV=0 for a purpose that requires UV", BAD_SIGNIN)
            .user(NO_UV_USER)
            .begin(pay.clone())
            .tweaks(flags(FLAG_UP)),
        case(
            "UV=0 for the default purpose (UV preferred)",
            Expect::Accepted,
        )
        .user(NO_UV_USER)
        .tweaks(flags(FLAG_UP)),
        case("UV=1 for a purpose that requires UV", Expect::Accepted)
            .user(NO_UV_USER)
            .begin(pay)
            .tweaks(flags(FLAG_UP | FLAG_UV)),
        // webauthn-rs: a credential that registered with UV under "preferred" keeps needing it.
        case("UV=0 for a credential that registered with UV", BAD_SIGNIN).tweaks(flags(FLAG_UP)),
        case("BS=1 with BE=0", BAD_SIGNIN).tweaks(flags(FLAG_UP | FLAG_UV | FLAG_BS)),
        case("BE flipped from 1 to 0", BAD_SIGNIN)
            .user(SYNCED_USER)
            .tweaks(flags(FLAG_UP | FLAG_UV)),
        case(
            "BE=1, BS=0 for a synced passkey (BS may change)",
            Expect::Accepted,
        )
        .user(SYNCED_USER)
        .tweaks(flags(FLAG_UP | FLAG_UV | FLAG_BE)),
        case("ED set without extension data", BAD_SIGNIN)
            .tweaks(flags(FLAG_UP | FLAG_UV | FLAG_ED)),
        // Signed by the authenticator, but not well-formed authenticator data (no ED).
        case("trailing bytes after the authenticator data", BAD_SIGNIN).tweaks(Tweaks {
            trailing_auth_data: Some(vec![0x00, 0x01, 0x02]),
            ..Tweaks::default()
        }),
        case("authenticator data of 36 bytes", BAD_SIGNIN).edit(|a| {
            edit_b64(a, "/response/authenticatorData", |mut d| {
                d.truncate(36);
                d
            });
        }),
        case("challenge of another ceremony", BAD_SIGNIN).tweaks(Tweaks {
            challenge: Some(b64url(&[7; 32])),
            ..Tweaks::default()
        }),
    ];
    run_signin_cases(&server, "badauthdata", |_| table).await;
}

#[tokio::test]
async fn sign_in_signatures() {
    let server = TestServer::start().await;
    let signature_over = |key: &SigningKey, data: &[u8]| -> Vec<u8> {
        let signature: DerSignature = key.sign(data);
        signature.as_bytes().to_vec()
    };
    let stranger = SigningKey::random(&mut rand::rngs::OsRng);
    run_signin_cases(&server, "badsigs", |auths| {
        let key = &auths[UV_USER].credentials()[0].signing_key;
        vec![
            case("signature with one bit flipped", BAD_SIGNIN).tweaks(Tweaks {
                tamper_signature: true,
                ..Tweaks::default()
            }),
            case("signature truncated by one byte", BAD_SIGNIN).edit(|a| {
                edit_b64(a, "/response/signature", |mut s| {
                    s.pop();
                    s
                });
            }),
            case("signature of 8 bytes", BAD_SIGNIN).edit(|a| {
                edit_b64(a, "/response/signature", |s| s[..8].to_vec());
            }),
            case("r = 0 and s = 0 (psychic signature)", BAD_SIGNIN).tweaks(Tweaks {
                signature: Some(vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]),
                ..Tweaks::default()
            }),
            case("r = 0 with the real s", BAD_SIGNIN).edit(|a| {
                edit_signature(a, |_, s| (vec![0], s));
            }),
            case("s = 0 with the real r", BAD_SIGNIN).edit(|a| {
                edit_signature(a, |r, _| (r, vec![0]));
            }),
            case("r and s swapped", BAD_SIGNIN).edit(|a| {
                edit_signature(a, |r, s| (s, r));
            }),
            case("a valid signature over other data", BAD_SIGNIN).tweaks(Tweaks {
                signature: Some(signature_over(key, b"other data")),
                ..Tweaks::default()
            }),
            case("a valid signature by another key", BAD_SIGNIN).tweaks(Tweaks {
                signature: Some(signature_over(&stranger, b"other data")),
                ..Tweaks::default()
            }),
            case("DER with a trailing byte", BAD_SIGNIN).edit(|a| {
                edit_b64(a, "/response/signature", |mut s| {
                    s.push(0);
                    s
                });
            }),
            case("raw r||s instead of DER", BAD_SIGNIN).edit(|a| {
                edit_b64(a, "/response/signature", |s| low_s(&s).to_bytes().to_vec());
            }),
            case(
                "empty signature",
                Expect::RefusedEarly(400, "validation_error"),
            )
            .edit(|a| {
                a["response"]["signature"] = json!("");
            }),
            // WebAuthn does not require low-S and authenticators emit either form of an ECDSA
            // signature; passkeyd accepts both forms of a valid signature. The other form of
            // an accepted assertion gains an attacker nothing: its session is used up and its
            // counter spent.
            case("the low-S form of a valid signature", Expect::Accepted).edit(|a| {
                edit_b64(a, "/response/signature", |s| {
                    low_s(&s).to_der().as_bytes().to_vec()
                });
            }),
            case("the high-S form of a valid signature", Expect::Accepted).edit(|a| {
                edit_b64(a, "/response/signature", |s| {
                    let low = low_s(&s);
                    let high = Signature::from_scalars(low.r(), -low.s()).expect("high-S form");
                    assert!(high.normalize_s().is_some(), "s is high");
                    high.to_der().as_bytes().to_vec()
                });
            }),
        ]
    })
    .await;
}

/// Counter regression and two concurrent assertions with one counter are pinned in
/// negatives.rs (`counter_regression_and_concurrent_equal_counters`); this adds the proof that
/// the refused ones change nothing, and that the race leaves exactly the winner's trace.
#[tokio::test]
async fn counter_refusals_leave_no_trace() {
    let server = TestServer::start().await;
    let app = server.create_app("counters").await;
    let probe = Probe::open(&server).await;
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "user-1", &[]).await;
    let id = auth.credentials()[0].id.clone();
    let user = json!({"userId": "user-1"});
    let at = |counter: u32| Tweaks {
        counter: Some(counter),
        ..Tweaks::default()
    };
    // The proof is not vacuous: an honest sign-in shows up in it.
    server.clock.advance(Duration::seconds(1));
    let before = probe.snapshot(&server, &app.app_id).await;
    sign_in(&app, &mut auth, &user, &at(10)).await;
    let after = probe.snapshot(&server, &app.app_id).await;
    let seen = check_unchanged("an honest sign-in", &before, &after, None)
        .expect_err("the snapshot sees a sign-in");
    for field in ["sign_count: 10", "last_used_at", "\"verify\""] {
        assert!(seen.contains(field), "the snapshot shows {field}: {seen}");
    }

    for (name, counter) in [
        ("counter equal to the stored one", 10),
        ("counter below the stored one", 9),
        ("counter 0 after counting", 0),
    ] {
        let (options, session) = app.signin_begin(&user).await;
        let assertion = auth.get_with(&options, ORIGIN, &at(counter));
        server.clock.advance(Duration::seconds(1));
        let before = probe.snapshot(&server, &app.app_id).await;
        let r = app.signin_complete(&session, &assertion).await;
        let after = probe.snapshot(&server, &app.app_id).await;
        assert_problem(name, &r, 400, "signin_complete_error");
        assert_unchanged(name, &before, &after, Some("signin_session"));
        assert_eq!(
            after.credential(&id).map(|c| c.sign_count),
            Some(10),
            "{name}"
        );
    }

    for round in 0..5u32 {
        let name = format!("two concurrent assertions with counter {}", 11 + round);
        let (o1, s1) = app.signin_begin(&user).await;
        let (o2, s2) = app.signin_begin(&user).await;
        let a1 = auth.get_with(&o1, ORIGIN, &at(11 + round));
        let a2 = auth.get_with(&o2, ORIGIN, &at(11 + round));
        server.clock.advance(Duration::seconds(1));
        let before = probe.snapshot(&server, &app.app_id).await;
        let (r1, r2) = tokio::join!(app.signin_complete(&s1, &a1), app.signin_complete(&s2, &a2));
        let after = probe.snapshot(&server, &app.app_id).await;
        let (won, lost) = if r1.status == 200 { (r1, r2) } else { (r2, r1) };
        assert_eq!(won.status, 200, "{name}: one wins: {}", won.text);
        assert_problem(&name, &lost, 400, "signin_complete_error");
        let credential = after.credential(&id).expect("credential");
        assert_eq!(credential.sign_count, 11 + round, "{name}");
        assert_eq!(
            credential.last_used_at.timestamp_millis(),
            server.clock_now().timestamp_millis(),
            "{name}"
        );
        assert_eq!(
            after.tokens_of("verify"),
            before.tokens_of("verify") + 1,
            "{name}: exactly one verify token"
        );
        // Both sessions are used up: the winner's and the loser's.
        for (session, assertion) in [(&s1, &a1), (&s2, &a2)] {
            let again = app.signin_complete(session, assertion).await;
            assert_problem(&format!("{name}: retried"), &again, 400, "invalid_token");
        }
    }
}

// ---- Tokens: replays, other apps, tampering -----------------------------------------------

/// Replays, tokens of another app or kind, tampered tokens and malformed tokens: each refused
/// with its exact problem, none consumes or changes anything (both apps are compared), and the
/// live tokens used as material still work afterwards. Magic-link replay and expiry are in
/// magic_links.rs.
#[tokio::test]
async fn token_replays_foreign_and_tampered_tokens() {
    let server = TestServer::start().await;
    let a = server.create_app("tokensa").await;
    let b = server.create_app("tokensb").await;
    let probe = Probe::open(&server).await;
    let mut auth = TestAuthenticator::new();
    register(&a, &mut auth, "user-1", &[]).await;
    let mut b_auth = TestAuthenticator::new();
    register(&b, &mut b_auth, "user-1", &[]).await;
    let user = json!({"userId": "user-1"});

    // Used-up material, oldest counters first.
    let (options, used_register_session) = a
        .register_begin(&json!({"userId": "user-2", "username": "n"}))
        .await;
    let used_attestation = TestAuthenticator::new().create(&options, ORIGIN);
    a.register_complete(&used_register_session, &used_attestation)
        .await
        .ok();
    let (options, used_signin_session) = a.signin_begin(&user).await;
    let used_assertion = auth.get(&options, ORIGIN);
    let used_verify = a
        .signin_complete(&used_signin_session, &used_assertion)
        .await
        .ok()["token"]
        .as_str()
        .expect("token")
        .to_owned();
    a.verify(&used_verify).await.ok();

    // Live material, still valid when the table has run.
    let verify = sign_in(&a, &mut auth, &user, &Tweaks::default()).await;
    let register_token = a
        .register_token(&json!({"userId": "user-3", "username": "n"}))
        .await;
    let (register_options, register_session) = a
        .register_begin(&json!({"userId": "user-4", "username": "n"}))
        .await;
    let attestation = TestAuthenticator::new().create(&register_options, ORIGIN);
    let (signin_options, signin_session) = a.signin_begin(&user).await;
    let assertion = auth.get(&signin_options, ORIGIN);

    let flip = |token: &str| {
        let at = token.find('_').expect("prefix") + 6;
        let mut chars: Vec<char> = token.chars().collect();
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect::<String>()
    };
    let shorter = |token: &str| token[..token.len() - 1].to_owned();
    let longer = |token: &str| format!("{token}A");
    let padded = |token: &str| format!("{token}=");
    let not_base64url = |token: &str| {
        let at = token.find('_').expect("prefix") + 6;
        format!("{}+{}", &token[..at], &token[at + 1..])
    };

    let register_begin = |token: String| json!({"token": token, "Origin": ORIGIN, "RPID": RP_ID});
    let register_complete = |session: String| json!({"session": session, "response": attestation, "Origin": ORIGIN, "RPID": RP_ID});
    let signin_complete = |session: String| json!({"session": session, "response": assertion, "Origin": ORIGIN, "RPID": RP_ID});
    let verify_body = |token: String| json!({"token": token});

    #[derive(Clone, Copy)]
    enum To {
        RegisterBegin,
        RegisterComplete,
        SigninComplete,
        Verify,
    }
    let invalid = (400, "invalid_token");
    let format = (400, "invalid_token_format");
    /// Name, sent to the token's own app (else to the other app), endpoint, body, problem.
    type TokenCase = (String, bool, To, Value, (u16, &'static str));
    let cases: Vec<TokenCase> = {
        let mut cases = vec![
            (
                "replayed register session".to_owned(),
                true,
                To::RegisterComplete,
                json!({"session": used_register_session, "response": used_attestation, "Origin": ORIGIN, "RPID": RP_ID}),
                invalid,
            ),
            (
                "replayed sign-in session with its assertion".to_owned(),
                true,
                To::SigninComplete,
                json!({"session": used_signin_session, "response": used_assertion, "Origin": ORIGIN, "RPID": RP_ID}),
                invalid,
            ),
            (
                "replayed verify token".to_owned(),
                true,
                To::Verify,
                verify_body(used_verify.clone()),
                invalid,
            ),
            (
                "register token of another app".to_owned(),
                false,
                To::RegisterBegin,
                register_begin(register_token.clone()),
                invalid,
            ),
            (
                "register session of another app".to_owned(),
                false,
                To::RegisterComplete,
                register_complete(register_session.clone()),
                invalid,
            ),
            (
                "sign-in session of another app".to_owned(),
                false,
                To::SigninComplete,
                signin_complete(signin_session.clone()),
                invalid,
            ),
            (
                "verify token of another app".to_owned(),
                false,
                To::Verify,
                verify_body(verify.clone()),
                invalid,
            ),
            (
                "sign-in session at /register/complete".to_owned(),
                true,
                To::RegisterComplete,
                register_complete(signin_session.clone()),
                invalid,
            ),
            (
                "register session at /signin/complete".to_owned(),
                true,
                To::SigninComplete,
                signin_complete(register_session.clone()),
                invalid,
            ),
            (
                "verify token as a session".to_owned(),
                true,
                To::SigninComplete,
                signin_complete(verify.clone()),
                invalid,
            ),
            (
                "session as a verify token".to_owned(),
                true,
                To::Verify,
                verify_body(signin_session.clone()),
                invalid,
            ),
            (
                "register token as a session".to_owned(),
                true,
                To::RegisterComplete,
                register_complete(register_token.clone()),
                invalid,
            ),
        ];
        let kinds: [(&str, To, &String); 4] = [
            ("register token", To::RegisterBegin, &register_token),
            ("register session", To::RegisterComplete, &register_session),
            ("sign-in session", To::SigninComplete, &signin_session),
            ("verify token", To::Verify, &verify),
        ];
        for (kind, to, token) in kinds {
            let body = |t: String| match to {
                To::RegisterBegin => register_begin(t),
                To::RegisterComplete => register_complete(t),
                To::SigninComplete => signin_complete(t),
                To::Verify => verify_body(t),
            };
            cases.extend([
                (
                    format!("{kind} with one character changed"),
                    true,
                    to,
                    body(flip(token)),
                    invalid,
                ),
                (
                    format!("{kind} one character short"),
                    true,
                    to,
                    body(shorter(token)),
                    format,
                ),
                (
                    format!("{kind} one character long"),
                    true,
                    to,
                    body(longer(token)),
                    format,
                ),
                (
                    format!("{kind} with base64 padding"),
                    true,
                    to,
                    body(padded(token)),
                    format,
                ),
                (
                    format!("{kind} with a '+' (not base64url)"),
                    true,
                    to,
                    body(not_base64url(token)),
                    format,
                ),
            ]);
        }
        cases
    };

    for (name, own_app, to, body, (status, code)) in &cases {
        let app = if *own_app { &a } else { &b };
        let before = (
            probe.snapshot(&server, &a.app_id).await,
            probe.snapshot(&server, &b.app_id).await,
        );
        let r = match to {
            To::RegisterBegin => app.browser("/register/begin", body).await,
            To::RegisterComplete => app.browser("/register/complete", body).await,
            To::SigninComplete => app.browser("/signin/complete", body).await,
            To::Verify => app.backend("/signin/verify", body).await,
        };
        assert_problem(name, &r, *status, code);
        assert_unchanged(
            name,
            &before.0,
            &probe.snapshot(&server, &a.app_id).await,
            None,
        );
        assert_unchanged(
            name,
            &before.1,
            &probe.snapshot(&server, &b.app_id).await,
            None,
        );
    }

    // Every live token survived the attempts.
    a.browser("/register/begin", &register_begin(register_token))
        .await
        .ok();
    a.browser("/register/complete", &register_complete(register_session))
        .await
        .ok();
    a.browser("/signin/complete", &signin_complete(signin_session))
        .await
        .ok();
    assert_eq!(a.verify(&verify).await.ok()["userId"], "user-1");
}

// ---- Bodies ------------------------------------------------------------------------------

/// Bodies that cannot be read, sent to the ceremony completions with a live session: refused
/// before the session is read, so nothing changes and the session still completes.
#[tokio::test]
async fn unreadable_ceremony_bodies() {
    let server = TestServer::start().await;
    let app = server.create_app("bodies").await;
    let probe = Probe::open(&server).await;
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "user-1", &[]).await;

    let (register_options, register_session) = app
        .register_begin(&json!({"userId": "user-2", "username": "n"}))
        .await;
    let attestation = TestAuthenticator::new().create(&register_options, ORIGIN);
    let (signin_options, signin_session) = app.signin_begin(&json!({"userId": "user-1"})).await;
    let assertion = auth.get(&signin_options, ORIGIN);
    let endpoints = [
        (
            "/register/complete",
            json!({"session": register_session, "response": attestation, "Origin": ORIGIN, "RPID": RP_ID}),
        ),
        (
            "/signin/complete",
            json!({"session": signin_session, "response": assertion, "Origin": ORIGIN, "RPID": RP_ID}),
        ),
    ];

    for (path, good) in &endpoints {
        let text = good.to_string();
        let mut oversized = good.clone();
        oversized["padding"] = json!("x".repeat(passkeyd::http::BODY_LIMIT));
        let nested = format!(
            "{{\"session\":{},\"Origin\":\"{ORIGIN}\",\"RPID\":\"{RP_ID}\",\"response\":{}{}}}",
            good["session"],
            "[".repeat(5000),
            "]".repeat(5000)
        );
        let mut invalid_utf8 = text.clone().into_bytes();
        invalid_utf8.truncate(invalid_utf8.len() - 1);
        invalid_utf8.extend_from_slice(b",\"nickname\":\"\xff\xfe\"}");
        let mut with_nul = good.clone();
        with_nul["nickname"] = json!("a\u{0}b");
        /// What, content type, body, status, errorCode.
        type BodyCase = (
            &'static str,
            Option<&'static str>,
            Vec<u8>,
            u16,
            &'static str,
        );
        let cases: Vec<BodyCase> = vec![
            (
                "a body over the limit",
                Some("application/json"),
                oversized.to_string().into_bytes(),
                413,
                "payload_too_large",
            ),
            (
                "JSON nested 5,000 deep",
                Some("application/json"),
                nested.into_bytes(),
                400,
                "invalid_json",
            ),
            (
                "invalid UTF-8",
                Some("application/json"),
                invalid_utf8,
                400,
                "invalid_json",
            ),
            (
                "truncated JSON",
                Some("application/json"),
                text.as_bytes()[..text.len() / 2].to_vec(),
                400,
                "invalid_json",
            ),
            (
                "text/plain",
                Some("text/plain"),
                text.clone().into_bytes(),
                415,
                "unsupported_media_type",
            ),
            (
                "a form content type",
                Some("application/x-www-form-urlencoded"),
                text.clone().into_bytes(),
                415,
                "unsupported_media_type",
            ),
            (
                "no content type",
                None,
                text.clone().into_bytes(),
                415,
                "unsupported_media_type",
            ),
            (
                "a JSON array",
                Some("application/json"),
                format!("[{text}]").into_bytes(),
                400,
                "invalid_request",
            ),
            (
                "a NUL character",
                Some("application/json"),
                with_nul.to_string().into_bytes(),
                400,
                "invalid_request",
            ),
        ];
        for (what, content_type, body, status, code) in cases {
            let name = format!("{path}: {what}");
            let before = probe.snapshot(&server, &app.app_id).await;
            let mut req = server
                .http
                .post(format!("{}{path}", server.base))
                .header("ApiKey", &app.public_key)
                .body(body);
            if let Some(content_type) = content_type {
                req = req.header("content-type", content_type);
            }
            let r = server.send(req).await;
            assert_problem(&name, &r, status, code);
            assert_unchanged(
                &name,
                &before,
                &probe.snapshot(&server, &app.app_id).await,
                None,
            );
        }
        // The session survived every attempt.
        let r = app.browser(path, good).await;
        assert_eq!(r.status, 200, "{path}: the session still works: {}", r.text);
    }
}

// ---- Helpers -----------------------------------------------------------------------------

fn cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("CBOR encodes");
    out
}

fn int(value: i64) -> Cbor {
    Cbor::Integer(value.into())
}

/// A COSE key map in the given order, duplicates and all.
fn cose_map(entries: &[(i64, Cbor)]) -> Vec<u8> {
    cbor(&Cbor::Map(
        entries.iter().map(|(k, v)| (int(*k), v.clone())).collect(),
    ))
}

/// The coordinates of a fresh P-256 public key.
fn p256_point() -> (Vec<u8>, Vec<u8>) {
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let point = key.verifying_key().to_encoded_point(false);
    (
        point.x().expect("x").to_vec(),
        point.y().expect("y").to_vec(),
    )
}

/// A COSE EC2 key with crv P-384 holding the P-384 base point (SEC 2 §2.5.1), labelled `alg`.
fn p384_key(alg: i64) -> Vec<u8> {
    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    };
    cose_map(&[
        (1, int(2)),
        (3, int(alg)),
        (-1, int(2)),
        (
            -2,
            Cbor::Bytes(hex("aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7")),
        ),
        (
            -3,
            Cbor::Bytes(hex("3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f")),
        ),
    ])
}

/// Replaces a base64url field of the credential JSON (by JSON pointer) with `f` of its bytes.
fn edit_b64(credential: &mut Value, pointer: &str, f: impl FnOnce(Vec<u8>) -> Vec<u8>) {
    let field = credential
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer}"));
    let bytes = b64url_decode(field.as_str().expect("a string"));
    *field = Value::String(b64url(&f(bytes)));
}

/// Replaces the first `from` in (UTF-8) bytes with `to`, whose bytes are taken as they are.
fn replace_text(data: &[u8], from: &str, to: &str) -> Vec<u8> {
    let at = data
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap_or_else(|| panic!("{from} not in {}", String::from_utf8_lossy(data)));
    let to: Vec<u8> = to
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a byte"))
        .collect();
    [&data[..at], &to[..], &data[at + from.len()..]].concat()
}

/// Rebuilds the attestation object from its top-level fields.
fn edit_attestation(credential: &mut Value, f: impl FnOnce(Vec<(Cbor, Cbor)>) -> Cbor) {
    edit_b64(credential, "/response/attestationObject", |bytes| {
        let value: Cbor = ciborium::from_reader(&bytes[..]).expect("CBOR");
        cbor(&f(value.into_map().expect("a map")))
    });
}

fn edit_auth_data(credential: &mut Value, f: impl Fn(Vec<u8>) -> Vec<u8>) {
    edit_attestation(credential, |fields| {
        Cbor::Map(
            fields
                .into_iter()
                .map(|(k, v)| {
                    if k.as_text() == Some("authData") {
                        let data = v.into_bytes().expect("bytes");
                        (k, Cbor::Bytes(f(data)))
                    } else {
                        (k, v)
                    }
                })
                .collect(),
        )
    });
}

/// The low-S form of a DER signature.
fn low_s(der: &[u8]) -> Signature {
    let signature = Signature::from_der(der).expect("DER");
    signature.normalize_s().unwrap_or(signature)
}

/// Re-encodes a DER signature with `f` applied to its (r, s) integer contents.
fn edit_signature(assertion: &mut Value, f: impl FnOnce(Vec<u8>, Vec<u8>) -> (Vec<u8>, Vec<u8>)) {
    edit_b64(assertion, "/response/signature", |der| {
        let signature = Signature::from_der(&der).expect("DER");
        let (r, s) = f(
            der_integer(&signature.r().to_bytes()),
            der_integer(&signature.s().to_bytes()),
        );
        let mut body = vec![0x02, u8::try_from(r.len()).expect("short")];
        body.extend(r);
        body.extend([0x02, u8::try_from(s.len()).expect("short")]);
        body.extend(s);
        [vec![0x30, u8::try_from(body.len()).expect("short")], body].concat()
    });
}

/// The contents of a DER INTEGER for an unsigned big-endian number.
fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut out = bytes[start..].to_vec();
    if out[0] & 0x80 != 0 {
        out.insert(0, 0);
    }
    out
}
