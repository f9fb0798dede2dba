//! Crash safety: passkeyd is killed with SIGKILL again and again while registrations are in
//! flight; every registration that was answered 200 is still there afterwards, and the
//! database is intact.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::authenticator::TestAuthenticator;
use crate::support::binary::Binary;
use crate::support::server::{backend, Backend, TestServer, ORIGIN, RP_ID};

/// One full registration through the process at `base`; true when it was answered 200.
async fn register(
    http: &reqwest::Client,
    base: &str,
    keys: &(String, String),
    auth: &mut TestAuthenticator,
    user_id: &str,
) -> bool {
    let (public_key, secret) = keys;
    let post = |path: &str, header: (&'static str, String), body: Value| {
        http.post(format!("{base}{path}"))
            .header(header.0, header.1)
            .json(&body)
            .send()
    };
    let Ok(r) = post(
        "/register/token",
        ("ApiSecret", secret.clone()),
        json!({"userId": user_id, "username": user_id}),
    )
    .await
    else {
        return false;
    };
    let Ok(body) = r.json::<Value>().await else {
        return false;
    };
    let Some(token) = body["token"].as_str() else {
        return false;
    };
    let Ok(r) = post(
        "/register/begin",
        ("ApiKey", public_key.clone()),
        json!({"token": token, "Origin": ORIGIN, "RPID": RP_ID}),
    )
    .await
    else {
        return false;
    };
    let Ok(begin) = r.json::<Value>().await else {
        return false;
    };
    let Some(session) = begin["session"].as_str() else {
        return false;
    };
    let credential = auth.create(&begin["data"], ORIGIN);
    let Ok(r) = post(
        "/register/complete",
        ("ApiKey", public_key.clone()),
        json!({"session": session, "response": credential, "Origin": ORIGIN, "RPID": RP_ID}),
    )
    .await
    else {
        return false;
    };
    r.status() == 200
}

#[tokio::test]
async fn sigkill_under_registration_load_loses_nothing() {
    // The suite's backend: a SQLite file, or a fresh PostgreSQL schema.
    let setup = TestServer::start().await;
    let app = setup.create_app("crashapp").await;
    let keys = (app.public_key.clone(), app.secret.clone());
    let url = setup.database_url.clone();
    let http = reqwest::Client::new();
    let mut confirmed: Vec<String> = Vec::new();
    let mut n = 0;
    for round in 0..6 {
        let mut process = Binary::start_replica(&url).await;
        let base = process.base.clone();
        // Four concurrent registration loops, cut off by the kill.
        let mut loops = Vec::new();
        for worker in 0..4 {
            let (http, base, keys) = (http.clone(), base.clone(), keys.clone());
            let first = n + worker * 10_000;
            loops.push(tokio::spawn(async move {
                let mut auth = TestAuthenticator::new();
                let mut done = Vec::new();
                for i in first.. {
                    let user = format!("user-{round}-{i}");
                    if register(&http, &base, &keys, &mut auth, &user).await {
                        done.push(user);
                    } else {
                        break;
                    }
                }
                done
            }));
        }
        tokio::time::sleep(Duration::from_millis(300 + 100 * round as u64)).await;
        process.kill();
        for l in loops {
            confirmed.extend(l.await.expect("registration loop"));
        }
        n += 40_000;
    }
    assert!(
        confirmed.len() > 20,
        "too few registrations to prove anything: {}",
        confirmed.len()
    );

    // Every registration that got a 200 survived the kills.
    let store = &setup.state.store;
    for user in &confirmed {
        let stored = store
            .list_credentials("crashapp", user)
            .await
            .expect("read back");
        assert_eq!(stored.len(), 1, "{user} was confirmed but is missing");
    }
    // And the database is intact.
    if backend() == Backend::Sqlite {
        let path = url.trim_start_matches("sqlite://");
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
            .await
            .expect("open");
        let (result,): (String,) = sqlx::query_as("pragma integrity_check")
            .fetch_one(&pool)
            .await
            .expect("integrity check");
        assert_eq!(result, "ok");
    }
    // A fresh process serves the data.
    let process = Binary::start_replica(&url).await;
    let r = http
        .get(format!("{}/users/count", process.base))
        .header("ApiSecret", &app.secret)
        .send()
        .await
        .expect("count");
    let count: Value = r.json().await.expect("json");
    // Registrations committed just before a kill may have lost only their answer: at least
    // every confirmed one is there.
    let stored = count["count"].as_u64().expect("count");
    assert!(
        stored >= confirmed.len() as u64,
        "{stored} < {}",
        confirmed.len()
    );
    eprintln!(
        "{} registrations confirmed across 6 SIGKILLs, all present",
        confirmed.len()
    );
}
