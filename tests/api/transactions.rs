//! One transaction per request: completions are all or nothing, the counter only moves
//! forward, a purpose's use touches only its time, the user limit holds under concurrency, and
//! cached keys follow changes made by another process within the cache bound.

use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use reqwest::Method;
use serde_json::json;

use crate::ceremonies::{register, sign_in};
use crate::support::authenticator::{TestAuthenticator, Tweaks};
use crate::support::server::{backend, Backend, TestServer, ORIGIN};

/// Runs statements on the server's database over a connection of the test's own.
async fn sql(server: &TestServer, statements: &[&str]) {
    use sqlx::Executor;
    match backend() {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&server.database_url)
                .await
                .expect("open the SQLite file");
            for s in statements {
                pool.execute(*s).await.expect(s);
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&server.database_url)
                .await
                .expect("connect to PostgreSQL");
            for s in statements {
                pool.execute(*s).await.expect(s);
            }
            pool.close().await;
        }
    }
}

/// A trigger that makes every insert into `signin_days` fail: the last write but two of a
/// sign-in, after the session is used and the counter advanced.
async fn break_signin_days(server: &TestServer) {
    match backend() {
        Backend::Sqlite => {
            sql(
                server,
                &["create trigger fail_days before insert on signin_days \
                   begin select raise(abort, 'injected failure'); end"],
            )
            .await;
        }
        Backend::Postgres => {
            sql(
                server,
                &[
                    "create function fail_days() returns trigger language plpgsql as \
                     $$ begin raise exception 'injected failure'; end $$",
                    "create trigger fail_days before insert on signin_days \
                     for each row execute function fail_days()",
                ],
            )
            .await;
        }
    }
}

async fn repair_signin_days(server: &TestServer) {
    match backend() {
        Backend::Sqlite => sql(server, &["drop trigger fail_days"]).await,
        Backend::Postgres => {
            sql(
                server,
                &[
                    "drop trigger fail_days on signin_days",
                    "drop function fail_days()",
                ],
            )
            .await;
        }
    }
}

#[tokio::test]
async fn signin_complete_is_all_or_nothing_under_a_storage_failure() {
    let server = TestServer::start().await;
    let app = server.create_app("atomic").await;
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "u1", &[]).await;
    let credential_id = auth.credentials()[0].id.clone();
    let at = |counter: u32| Tweaks {
        counter: Some(counter),
        ..Tweaks::default()
    };
    sign_in(&app, &mut auth, &json!({"userId": "u1"}), &at(5)).await;
    let stored = |server: &TestServer| {
        let store = server.state.store.clone();
        let id = credential_id.clone();
        async move {
            store
                .find_credential("atomic", &id)
                .await
                .expect("read")
                .expect("credential")
        }
    };
    let before = stored(&server).await;
    assert_eq!(before.sign_count, 5);

    break_signin_days(&server).await;
    server.clock.advance(Duration::days(1));
    let (options, session) = app.signin_begin(&json!({"userId": "u1"})).await;
    let assertion = auth.get_with(&options, ORIGIN, &at(6));
    let r = app.signin_complete(&session, &assertion).await;
    assert!(
        r.status >= 500,
        "the injected failure fails the call: {}",
        r.text
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{}",
        r.text
    );
    let after = stored(&server).await;
    assert_eq!(after.sign_count, 5, "the counter did not advance");
    assert_eq!(after.last_used_at, before.last_used_at);

    // Nothing was written, so the same session and assertion complete once storage works.
    repair_signin_days(&server).await;
    let r = app.signin_complete(&session, &assertion).await;
    let token = r.ok()["token"].as_str().expect("token").to_owned();
    assert_eq!(stored(&server).await.sign_count, 6);
    assert_eq!(app.verify(&token).await.ok()["userId"], "u1");
    // And then never again.
    app.signin_complete(&session, &assertion)
        .await
        .problem(400, "invalid_token");
}

#[tokio::test]
async fn the_counter_never_goes_back_to_zero() {
    let server = TestServer::start().await;
    let app = server.create_app("counterzero").await;
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "u1", &[]).await;
    let id = auth.credentials()[0].id.clone();
    let at = |counter: u32| Tweaks {
        counter: Some(counter),
        ..Tweaks::default()
    };
    // An authenticator without a counter (always 0) keeps working.
    sign_in(&app, &mut auth, &json!({"userId": "u1"}), &at(0)).await;
    sign_in(&app, &mut auth, &json!({"userId": "u1"}), &at(0)).await;
    // Once it has counted, 0 is a regression.
    sign_in(&app, &mut auth, &json!({"userId": "u1"}), &at(7)).await;
    let (options, session) = app.signin_begin(&json!({"userId": "u1"})).await;
    let assertion = auth.get_with(&options, ORIGIN, &at(0));
    app.signin_complete(&session, &assertion)
        .await
        .problem(400, "signin_complete_error");
    let stored = server
        .state
        .store
        .find_credential("counterzero", &id)
        .await
        .expect("read")
        .expect("credential");
    assert_eq!(stored.sign_count, 7);
}

#[tokio::test]
async fn a_sign_in_touches_only_its_purpose_last_use() {
    let server = TestServer::start().await;
    let app = server.create_app("touch").await;
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "u1", &[]).await;
    let add = app
        .backend(
            "/auth-configs/add",
            &json!({"purpose": "pay", "userVerificationRequirement": "discouraged", "performedBy": "ops"}),
        )
        .await;
    assert_eq!(add.status, 201, "{}", add.text);
    let list = || async {
        server
            .get("/auth-configs/list", &[("ApiSecret", &app.secret)])
            .await
            .ok()["configurations"]
            .as_array()
            .unwrap()
            .clone()
    };

    // Begun while `pay` exists; the admin deletes it before the sign-in completes.
    let (options, session) = app
        .signin_begin(&json!({"userId": "u1", "purpose": "pay"}))
        .await;
    let r = app
        .backend(
            "/auth-configs/delete",
            &json!({"purpose": "pay", "performedBy": "ops"}),
        )
        .await;
    assert!(r.status < 300, "{}", r.text);
    let assertion = auth.get(&options, ORIGIN);
    let token = app.signin_complete(&session, &assertion).await;
    token.ok();
    let configs = list().await;
    assert!(
        configs.iter().all(|c| c["purpose"] != "pay"),
        "the deleted purpose is not re-created: {configs:?}"
    );

    // Begun under `pay` (discouraged); the admin tightens it to required meanwhile.
    let add = app
        .backend(
            "/auth-configs/add",
            &json!({"purpose": "pay", "userVerificationRequirement": "discouraged", "performedBy": "ops"}),
        )
        .await;
    assert_eq!(add.status, 201, "{}", add.text);
    let (options, session) = app
        .signin_begin(&json!({"userId": "u1", "purpose": "pay"}))
        .await;
    let r = app
        .backend(
            "/auth-configs",
            &json!({"purpose": "pay", "userVerificationRequirement": "required", "performedBy": "ops"}),
        )
        .await;
    assert!(r.status < 300, "{}", r.text);
    let assertion = auth.get(&options, ORIGIN);
    app.signin_complete(&session, &assertion).await.ok();
    let configs = list().await;
    let pay = configs.iter().find(|c| c["purpose"] == "pay").expect("pay");
    assert_eq!(pay["userVerificationRequirement"], "required", "{pay}");
    assert!(pay["lastUsedOn"].is_string(), "the use is recorded: {pay}");
}

#[tokio::test]
async fn the_user_limit_holds_under_concurrent_registrations() {
    let server = TestServer::start().await;
    let app = server.create_app("limited").await;
    let r = server
        .admin(
            Method::POST,
            "/admin/apps/limited/features",
            Some(&json!({"eventLoggingIsEnabled": false, "eventLoggingRetentionPeriod": 7, "maxUsers": 3, "allowAttestation": false})),
        )
        .await;
    assert!(r.status < 300, "{}", r.text);

    // Twelve users get past begin (the limit is not reached yet), then all complete at once.
    let mut pending = Vec::new();
    for i in 0..12 {
        let user = format!("user-{i}");
        let (options, session) = app
            .register_begin(&json!({"userId": user, "username": user}))
            .await;
        let mut auth = TestAuthenticator::new();
        let credential = auth.create(&options, ORIGIN);
        pending.push((session, credential));
    }
    let results = futures_join_all(pending.iter().map(|(s, c)| app.register_complete(s, c))).await;
    let accepted = results.iter().filter(|r| r.status == 200).count();
    for r in results.iter().filter(|r| r.status != 200) {
        r.problem(400, "max_users_reached");
    }
    assert_eq!(accepted, 3, "exactly maxUsers registrations succeed");
    let users = server
        .state
        .store
        .count_users("limited")
        .await
        .expect("count");
    assert_eq!(users, 3);
}

/// Awaits all futures concurrently (without a dependency for one helper).
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    let mut pending: Vec<_> = handles.into_iter().map(Some).collect();
    let mut done: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (slot, out) in pending.iter_mut().zip(done.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *out = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.extend(done.into_iter().map(|o| o.expect("completed")));
    outputs
}

#[tokio::test]
async fn a_key_locked_on_one_process_stops_working_on_another_within_the_bound() {
    let a = TestServer::start().await;
    let b = a.replica().await;
    let app = a.create_app("cachedapp").await;
    let body = json!({"userId": "u"});
    let headers = [("ApiSecret", app.secret.as_str())];
    // B has the key in its cache now.
    assert_eq!(
        b.post("/signin/generate-token", &headers, &body)
            .await
            .status,
        200
    );
    assert_eq!(
        b.post("/signin/generate-token", &headers, &body)
            .await
            .status,
        200
    );
    let key_id = &app.secret[app.secret.len() - 4..];
    let locked_at = Instant::now();
    let r = a
        .admin(
            Method::POST,
            &format!("/admin/apps/cachedapp/api-keys/{key_id}/lock"),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    // At once on the process that made the change.
    a.post("/signin/generate-token", &headers, &body)
        .await
        .problem(401, "unauthorized");
    // Within the bound (1 s) on the other.
    loop {
        let r = b.post("/signin/generate-token", &headers, &body).await;
        if r.status == 401 {
            break;
        }
        assert!(
            locked_at.elapsed() < StdDuration::from_millis(1_000),
            "the locked key still worked on the other process after {:?}",
            locked_at.elapsed()
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    // And never again.
    for _ in 0..5 {
        b.post("/signin/generate-token", &headers, &body)
            .await
            .problem(401, "unauthorized");
    }
}

/// A passkey that becomes synced says so in its next assertion (BS=1); the sign-in records it,
/// in its one transaction, and `/credentials/list` shows it.
#[tokio::test]
async fn a_sign_in_keeps_the_backup_state_current() {
    let server = TestServer::start().await;
    let app = server.create_app("backupstate").await;
    let mut auth = TestAuthenticator::new();
    auth.backup_eligible = true;
    auth.backup_state = false;
    register(&app, &mut auth, "u1", &[]).await;
    let list = || async {
        server
            .get("/credentials/list?userId=u1", &[("ApiSecret", &app.secret)])
            .await
            .ok()["values"][0]
            .clone()
    };
    assert_eq!(list().await["backupState"], false);
    auth.backup_state = true;
    sign_in(
        &app,
        &mut auth,
        &json!({"userId": "u1"}),
        &Tweaks::default(),
    )
    .await;
    assert_eq!(list().await["backupState"], true);
    // And the next sign-in, which reports the same, still works.
    sign_in(
        &app,
        &mut auth,
        &json!({"userId": "u1"}),
        &Tweaks::default(),
    )
    .await;
}
