//! Every way a ceremony must fail, and that it fails with the right 4xx problem.

use chrono::Duration;
use serde_json::{json, Value};

use crate::ceremonies::{register, sign_in};
use crate::support::authenticator::{b64url, TestAuthenticator, Tweaks};
use crate::support::server::{TestApp, TestServer, ORIGIN, RP_ID};

async fn registered<'a>(server: &'a TestServer, app_id: &str) -> (TestApp<'a>, TestAuthenticator) {
    let app = server.create_app(app_id).await;
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "user-1", &["alice"]).await;
    (app, auth)
}

/// A registration whose credential is built with `tweaks` must fail with
/// `fido2_invalid_registration` and store nothing.
async fn registration_refused(tweaks: Tweaks, request_origin: &str) {
    let server = TestServer::start().await;
    let app = server.create_app("regneg").await;
    let mut auth = TestAuthenticator::new();
    let (options, session) = app
        .register_begin(&json!({"userId": "u", "username": "n"}))
        .await;
    let credential = auth.create_with(&options, ORIGIN, &tweaks);
    let r = app
        .browser(
            "/register/complete",
            &json!({"session": session, "response": credential, "Origin": request_origin, "RPID": RP_ID}),
        )
        .await;
    r.problem(400, "fido2_invalid_registration");
    let stored = server
        .state
        .store
        .list_credentials("regneg", "u")
        .await
        .unwrap();
    assert!(
        stored.is_empty(),
        "nothing stored after a refused registration"
    );
}

#[tokio::test]
async fn registration_wrong_origin() {
    let tweaks = Tweaks {
        client_data_origin: Some("https://evil-example.com".into()),
        ..Tweaks::default()
    };
    registration_refused(tweaks, ORIGIN).await;
    // The request claims one origin, the browser saw another.
    registration_refused(Tweaks::default(), "https://example.com.evil.com").await;
    registration_refused(Tweaks::default(), "http://example.com").await;
    registration_refused(Tweaks::default(), "https://example.com:8443").await;
}

#[tokio::test]
async fn registration_wrong_rp_id_cross_origin_and_no_user_presence() {
    registration_refused(
        Tweaks {
            rp_id_for_hash: Some("other.com".into()),
            ..Tweaks::default()
        },
        ORIGIN,
    )
    .await;
    registration_refused(
        Tweaks {
            cross_origin: Some(true),
            ..Tweaks::default()
        },
        ORIGIN,
    )
    .await;
    registration_refused(
        Tweaks {
            top_origin: Some("https://evil.com".into()),
            ..Tweaks::default()
        },
        ORIGIN,
    )
    .await;
    // AT only: the user was not present.
    registration_refused(
        Tweaks {
            flags: Some(0x40),
            ..Tweaks::default()
        },
        ORIGIN,
    )
    .await;
    registration_refused(
        Tweaks {
            challenge: Some(b64url(b"another challenge")),
            ..Tweaks::default()
        },
        ORIGIN,
    )
    .await;
    registration_refused(
        Tweaks {
            credential_id: Some(vec![7; 1024]),
            ..Tweaks::default()
        },
        ORIGIN,
    )
    .await;
}

#[tokio::test]
async fn registration_of_a_known_credential_is_refused() {
    let server = TestServer::start().await;
    let (app, mut auth) = registered(&server, "dupapp").await;
    let (options, session) = app
        .register_begin(&json!({"userId": "user-2", "username": "n"}))
        .await;
    let again = Tweaks {
        credential_id: Some(auth.credentials()[0].id.clone()),
        ignore_exclude_credentials: true,
        ..Tweaks::default()
    };
    let credential = auth.create_with(&options, ORIGIN, &again);
    app.register_complete(&session, &credential)
        .await
        .problem(400, "fido2_invalid_registration");
}

#[tokio::test]
async fn replayed_register_session_fails() {
    let server = TestServer::start().await;
    let app = server.create_app("replayreg").await;
    let mut auth = TestAuthenticator::new();
    let (options, session) = app
        .register_begin(&json!({"userId": "u", "username": "n"}))
        .await;
    let credential = auth.create(&options, ORIGIN);
    app.register_complete(&session, &credential).await.ok();
    app.register_complete(&session, &credential)
        .await
        .problem(400, "invalid_token");
}

#[tokio::test]
async fn concurrent_completion_of_one_session_succeeds_once() {
    let server = TestServer::start().await;
    let (app, mut auth) = registered(&server, "raceapp").await;
    for _ in 0..20 {
        let (options, session) = app.signin_begin(&json!({"userId": "user-1"})).await;
        let a = auth.get(&options, ORIGIN);
        let (r1, r2) = tokio::join!(
            app.signin_complete(&session, &a),
            app.signin_complete(&session, &a)
        );
        let ok = [r1.status, r2.status].iter().filter(|s| **s == 200).count();
        assert_eq!(
            ok, 1,
            "exactly one completion wins: {} / {}",
            r1.text, r2.text
        );
    }
}

#[tokio::test]
async fn sign_in_negative_twins() {
    let server = TestServer::start().await;
    let (app, mut auth) = registered(&server, "signneg").await;
    let user = json!({"userId": "user-1"});
    let cases: Vec<(&str, Tweaks)> = vec![
        (
            "wrong origin",
            Tweaks {
                client_data_origin: Some("https://evil-example.com".into()),
                ..Tweaks::default()
            },
        ),
        (
            "wrong rpId",
            Tweaks {
                rp_id_for_hash: Some("evil.com".into()),
                ..Tweaks::default()
            },
        ),
        (
            "tampered signature",
            Tweaks {
                tamper_signature: true,
                ..Tweaks::default()
            },
        ),
        (
            "truncated signature",
            Tweaks {
                signature: Some(vec![0x30, 0x06, 0x02, 0x01, 0x00]),
                ..Tweaks::default()
            },
        ),
        (
            "crossOrigin",
            Tweaks {
                cross_origin: Some(true),
                ..Tweaks::default()
            },
        ),
        (
            "topOrigin",
            Tweaks {
                top_origin: Some("https://evil.com".into()),
                ..Tweaks::default()
            },
        ),
        (
            "user not present",
            Tweaks {
                flags: Some(0x04),
                ..Tweaks::default()
            },
        ),
        (
            "wrong type",
            Tweaks {
                client_data_type: Some("webauthn.create".into()),
                ..Tweaks::default()
            },
        ),
        (
            "other user's handle",
            Tweaks {
                user_handle: Some(b"user-2".to_vec()),
                ..Tweaks::default()
            },
        ),
    ];
    for (name, tweaks) in cases {
        let (options, session) = app.signin_begin(&user).await;
        let assertion = auth.get_with(&options, ORIGIN, &tweaks);
        let r = app.signin_complete(&session, &assertion).await;
        assert_eq!(r.status, 400, "{name}: {}", r.text);
        r.problem(400, "signin_complete_error");
    }
    // After all that, a good sign-in still works.
    sign_in(&app, &mut auth, &user, &Tweaks::default()).await;
}

#[tokio::test]
async fn counter_regression_and_concurrent_equal_counters() {
    let server = TestServer::start().await;
    let (app, mut auth) = registered(&server, "counterapp").await;
    let user = json!({"userId": "user-1"});
    sign_in(
        &app,
        &mut auth,
        &user,
        &Tweaks {
            counter: Some(10),
            ..Tweaks::default()
        },
    )
    .await;
    for counter in [10, 9] {
        let (options, session) = app.signin_begin(&user).await;
        let a = auth.get_with(
            &options,
            ORIGIN,
            &Tweaks {
                counter: Some(counter),
                ..Tweaks::default()
            },
        );
        app.signin_complete(&session, &a)
            .await
            .problem(400, "signin_complete_error");
    }
    // Two clones present counter 11 at once: one wins, one fails.
    for round in 0..10u32 {
        let counter = Tweaks {
            counter: Some(11 + round),
            ..Tweaks::default()
        };
        let (o1, s1) = app.signin_begin(&user).await;
        let (o2, s2) = app.signin_begin(&user).await;
        let a1 = auth.get_with(&o1, ORIGIN, &counter);
        let a2 = auth.get_with(&o2, ORIGIN, &counter);
        let (r1, r2) = tokio::join!(app.signin_complete(&s1, &a1), app.signin_complete(&s2, &a2));
        let ok = [r1.status, r2.status].iter().filter(|s| **s == 200).count();
        assert_eq!(ok, 1, "round {round}: {} / {}", r1.text, r2.text);
    }
    // Once a credential has counted, a zero counter would bypass clone detection: refused.
    let zero = Tweaks {
        counter: Some(0),
        ..Tweaks::default()
    };
    let (options, session) = app.signin_begin(&user).await;
    let a = auth.get_with(&options, ORIGIN, &zero);
    app.signin_complete(&session, &a)
        .await
        .problem(400, "signin_complete_error");

    // A credential that never counts (synced passkeys send 0) signs in every time.
    let mut synced = TestAuthenticator::new();
    register(&app, &mut synced, "user-3", &[]).await;
    for _ in 0..3 {
        sign_in(&app, &mut synced, &json!({"userId": "user-3"}), &zero).await;
    }
}

#[tokio::test]
async fn unknown_credential_has_the_exact_body() {
    let server = TestServer::start().await;
    let (app, mut auth) = registered(&server, "unknownapp").await;
    let mut stranger = TestAuthenticator::new();
    let other = server.create_app("otherapp").await;
    register(&other, &mut stranger, "user-1", &[]).await;
    let (options, session) = app.signin_begin(&json!({})).await;
    let assertion = stranger.get(&options, ORIGIN);
    let r = app.signin_complete(&session, &assertion).await;
    let body = r.problem(400, "unknown_credential");
    assert_eq!(body["title"], "We don't recognize the passkey you sent us.");
    assert_eq!(
        body["type"],
        "https://docs.passwordless.dev/guide/errors.html#unknown_credential"
    );
    assert_eq!(body["credentialId"], assertion["id"]);
    let _ = &mut auth;
}

#[tokio::test]
async fn verify_tokens_work_once_and_expire() {
    let server = TestServer::start().await;
    let (app, mut auth) = registered(&server, "verifyapp").await;
    let token = sign_in(
        &app,
        &mut auth,
        &json!({"userId": "user-1"}),
        &Tweaks::default(),
    )
    .await;
    app.verify(&token).await.ok();
    let r = app.verify(&token).await;
    r.problem(400, "invalid_token");

    let token = sign_in(
        &app,
        &mut auth,
        &json!({"userId": "user-1"}),
        &Tweaks::default(),
    )
    .await;
    server.clock.advance(Duration::seconds(130));
    let r = app.verify(&token).await;
    assert_eq!(
        r.problem(403, "expired_token")["title"],
        "The token expired 10 seconds ago."
    );
}

#[tokio::test]
async fn expired_register_token_and_session() {
    let server = TestServer::start().await;
    let app = server.create_app("expapp").await;
    let token = app
        .register_token(&json!({"userId": "u", "username": "n"}))
        .await;
    server.clock.advance(Duration::seconds(121));
    let r = app
        .browser(
            "/register/begin",
            &json!({"token": token, "Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await;
    assert_eq!(
        r.problem(403, "expired_token")["title"],
        "The token expired 1 second ago."
    );

    // An explicit expiresAt (naive: taken as UTC) is honoured.
    let later = (server.clock_now() + Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let token = app
        .register_token(&json!({"userId": "u", "username": "n", "expiresAt": later}))
        .await;
    server.clock.advance(Duration::minutes(30));
    let r = app
        .browser(
            "/register/begin",
            &json!({"token": token, "Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await;
    let session = r.ok()["session"].as_str().unwrap().to_owned();
    let data = r.body["data"].clone();

    // A ceremony session lives for the WebAuthn timeout plus a margin, then is refused.
    server.clock.advance(Duration::seconds(125));
    let credential = TestAuthenticator::new().create(&data, ORIGIN);
    app.register_complete(&session, &credential)
        .await
        .problem(403, "expired_token");
}

#[tokio::test]
async fn tokens_of_another_app_are_unknown() {
    let server = TestServer::start().await;
    let (a, mut auth) = registered(&server, "appa").await;
    let b = server.create_app("appb").await;
    let mut b_auth = TestAuthenticator::new();
    register(&b, &mut b_auth, "user-1", &[]).await;

    let register_token = a
        .register_token(&json!({"userId": "x", "username": "x"}))
        .await;
    let r = b
        .browser(
            "/register/begin",
            &json!({"token": register_token, "Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await;
    r.problem(400, "invalid_token");

    let (options, session) = a.signin_begin(&json!({"userId": "user-1"})).await;
    let assertion = auth.get(&options, ORIGIN);
    b.signin_complete(&session, &assertion)
        .await
        .problem(400, "invalid_token");

    let token = sign_in(
        &a,
        &mut auth,
        &json!({"userId": "user-1"}),
        &Tweaks::default(),
    )
    .await;
    b.verify(&token).await.problem(400, "invalid_token");
    // Still valid for its own app: B's attempt did not consume it.
    a.verify(&token).await.ok();
}

#[tokio::test]
async fn sign_in_for_a_named_user_refuses_other_users_passkeys() {
    let server = TestServer::start().await;
    let (app, _) = registered(&server, "namedapp").await;
    let mut mallory = TestAuthenticator::new();
    register(&app, &mut mallory, "user-2", &[]).await;
    // Begin for user-1 (allowCredentials lists user-1's key), answer with user-2's key.
    let (options, session) = app.signin_begin(&json!({"userId": "user-1"})).await;
    let mut forged = options.clone();
    forged["allowCredentials"] = json!([]);
    let assertion = mallory.get(&forged, ORIGIN);
    app.signin_complete(&session, &assertion)
        .await
        .problem(400, "signin_complete_error");
    // An unknown alias names nobody: no passkey satisfies it, even one offered regardless.
    let (options, session) = app.signin_begin(&json!({"alias": "nobody"})).await;
    assert_eq!(options["allowCredentials"].as_array().unwrap().len(), 1);
    let mut forged = options.clone();
    forged["allowCredentials"] = json!([]);
    let assertion = mallory.get(&forged, ORIGIN);
    app.signin_complete(&session, &assertion)
        .await
        .problem(400, "signin_complete_error");
}

#[tokio::test]
async fn malformed_ceremony_requests_are_4xx() {
    let server = TestServer::start().await;
    let (app, _) = registered(&server, "badapp").await;
    let (_, session) = app.signin_begin(&json!({"userId": "user-1"})).await;
    let bad: Vec<(&str, Value, u16, &str)> = vec![
        (
            "/signin/begin",
            json!({"RPID": RP_ID}),
            400,
            "missing_origin",
        ),
        (
            "/signin/begin",
            json!({"Origin": "not a url", "RPID": RP_ID}),
            400,
            "invalid_origin",
        ),
        (
            "/signin/begin",
            json!({"Origin": ORIGIN}),
            400,
            "missing_rpid",
        ),
        (
            "/signin/complete",
            json!({"Origin": ORIGIN, "RPID": RP_ID, "session": session}),
            400,
            "validation_error",
        ),
        (
            "/signin/complete",
            json!({"Origin": ORIGIN, "RPID": RP_ID, "session": "session_x", "response": {"id": "x", "rawId": "a+b/", "response": {}}}),
            400,
            "validation_error",
        ),
        (
            "/signin/complete",
            json!({"Origin": ORIGIN, "RPID": RP_ID, "session": "garbage", "response": {"id": "AA", "rawId": "AA", "response": {"authenticatorData": "AA", "clientDataJson": "AA", "signature": "AA"}}}),
            400,
            "invalid_token",
        ),
        (
            "/signin/complete",
            json!({"Origin": ORIGIN, "RPID": RP_ID, "session": session, "response": {"id": "AA", "rawId": "AA", "response": {"authenticatorData": "AA", "clientDataJson": "AA", "signature": "AA"}}}),
            400,
            "unknown_credential",
        ),
        (
            "/register/begin",
            json!({"Origin": ORIGIN, "RPID": RP_ID}),
            400,
            "missing_token",
        ),
        (
            "/register/begin",
            json!({"token": "register_short", "Origin": ORIGIN, "RPID": RP_ID}),
            400,
            "invalid_token_format",
        ),
        (
            "/register/begin",
            json!({"token": "verify_xyz", "Origin": ORIGIN, "RPID": RP_ID}),
            400,
            "invalid_token",
        ),
        (
            "/register/complete",
            json!({"session": "session_x", "Origin": ORIGIN, "RPID": RP_ID}),
            400,
            "validation_error",
        ),
        (
            "/register/complete",
            json!({"session": 5, "response": {"rawId": "AA", "response": {"clientDataJSON": "AA", "attestationObject": "AA"}}, "nickname": "n".repeat(65), "Origin": ORIGIN}),
            400,
            "validation_error",
        ),
        (
            "/signin/begin",
            json!({"Origin": ORIGIN, "RPID": RP_ID, "userId": {"deep": [1, 2]}}),
            200,
            "",
        ),
        ("/signin/begin", json!([1, 2, 3]), 400, "invalid_request"),
    ];
    for (path, body, status, code) in bad {
        let r = app.browser(path, &body).await;
        if status == 200 {
            assert_eq!(r.status, 200, "{path} {body}: {}", r.text);
        } else {
            r.problem(status, code);
        }
    }
    // The session was not used up by the malformed attempts that failed before it was read.
    let _ = session;
}

/// `/signin/begin` answers an unknown alias or user id in the same shape as a known one: one
/// credential id of the usual length, the same every time, so users cannot be enumerated.
#[tokio::test]
async fn sign_in_begin_does_not_reveal_which_users_exist() {
    let server = TestServer::start().await;
    let (app, auth) = registered(&server, "enumapp").await;
    let real_len = auth.credentials()[0].id.len();
    let shape = |v: &Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let (known, _) = app.signin_begin(&json!({"alias": "alice"})).await;
    for fields in [json!({"alias": "mallory"}), json!({"userId": "nobody"})] {
        let (unknown, _) = app.signin_begin(&fields).await;
        assert_eq!(shape(&unknown), shape(&known));
        let ids = unknown["allowCredentials"].as_array().unwrap();
        assert_eq!(ids.len(), 1, "{fields}");
        assert_eq!(ids[0]["type"], "public-key");
        let id = crate::support::authenticator::b64url_decode(ids[0]["id"].as_str().unwrap());
        assert!(id.len() >= real_len, "a plausible credential id");
        let (again, _) = app.signin_begin(&fields).await;
        assert_eq!(
            again["allowCredentials"], unknown["allowCredentials"],
            "stable per identifier"
        );
    }
    let (a, _) = app.signin_begin(&json!({"alias": "mallory"})).await;
    let (b, _) = app.signin_begin(&json!({"alias": "trudy"})).await;
    assert_ne!(a["allowCredentials"], b["allowCredentials"]);
}
