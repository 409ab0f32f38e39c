//! Login, refresh rotation, reuse detection, logout, and every kind of bad token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use closeout::db::{DbConnection, schema::refresh_tokens};
use closeout_tests::{TestApp, assert_problem};
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn refresh(app: &TestApp, token: &str, device: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": token, "device_id": device})),
    )
    .await
}

#[tokio::test]
async fn login_refresh_rotates_reuse_revokes_and_logout_ends_the_session() {
    let app = TestApp::spawn().await;
    let user = app
        .login("admin", closeout_tests::ADMIN_PASSWORD, "phone-1")
        .await;
    let (status, me) = app.get("/api/v1/me", &user.access).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "admin");
    assert_eq!(me["roles"][0]["role"], "admin");

    // Refresh: a new pair, and the refresh token changed.
    let (status, second) = refresh(&app, &user.refresh, "phone-1").await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, user.refresh);
    let second_access = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/v1/me", &second_access).await.0,
        StatusCode::OK
    );

    // The old refresh token again: refused, and the whole chain of that device is revoked.
    let (status, body) = refresh(&app, &user.refresh, "phone-1").await;
    assert_problem(status, &body, 401, "refresh_token_reused");
    let (status, body) = refresh(&app, &second_refresh, "phone-1").await;
    assert_problem(status, &body, 401, "refresh_token_revoked");
    let (status, body) = app.get("/api/v1/me", &second_access).await;
    assert_problem(status, &body, 401, "session_revoked");

    // Another login on another device is untouched by that, and logout ends it.
    let other = app
        .login("admin", closeout_tests::ADMIN_PASSWORD, "phone-2")
        .await;
    assert_eq!(app.get("/api/v1/me", &other.access).await.0, StatusCode::OK);
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/auth/logout",
            None,
            Some(json!({"refresh_token": other.refresh})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.get("/api/v1/me", &other.access).await;
    assert_problem(status, &body, 401, "session_revoked");
    let (status, body) = refresh(&app, &other.refresh, "phone-2").await;
    assert_problem(status, &body, 401, "refresh_token_revoked");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = TestApp::spawn().await;
    for (user, password) in [("admin", "wrong-password"), ("nobody", "whatever-pw")] {
        let (status, body) = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": user, "password": password, "device_id": "d1"})),
            )
            .await;
        assert_problem(status, &body, 401, "invalid_credentials");
    }
}

#[tokio::test]
async fn refresh_is_bound_to_the_device() {
    let app = TestApp::spawn().await;
    let user = app
        .login("admin", closeout_tests::ADMIN_PASSWORD, "phone-1")
        .await;
    let (status, body) = refresh(&app, &user.refresh, "someone-elses-phone").await;
    assert_problem(status, &body, 401, "device_mismatch");
    // The rightful device still refreshes.
    assert_eq!(
        refresh(&app, &user.refresh, "phone-1").await.0,
        StatusCode::OK
    );
    let (status, body) = refresh(&app, "no-such-token", "phone-1").await;
    assert_problem(status, &body, 401, "refresh_token_invalid");
}

fn shift_tokens_back(conn: &mut DbConnection, days: i64) {
    let tokens: Vec<(String, chrono::NaiveDateTime, chrono::NaiveDateTime)> = refresh_tokens::table
        .select((
            refresh_tokens::id,
            refresh_tokens::created_at,
            refresh_tokens::expires_at,
        ))
        .load(conn)
        .unwrap();
    for (id, created, expires) in tokens {
        diesel::update(refresh_tokens::table.find(id))
            .set((
                refresh_tokens::created_at.eq(created - chrono::Duration::days(days)),
                refresh_tokens::expires_at.eq(expires - chrono::Duration::days(days)),
            ))
            .execute(conn)
            .unwrap();
    }
}

#[tokio::test]
async fn a_phone_offline_for_thirty_days_still_refreshes_but_not_after_the_refresh_lifetime() {
    let app = TestApp::spawn().await;
    let user = app
        .login("admin", closeout_tests::ADMIN_PASSWORD, "village-phone")
        .await;
    // Thirty-one days pass with the phone in a drawer.
    shift_tokens_back(&mut app.db().get().unwrap(), 31);
    let (status, body) = refresh(&app, &user.refresh, "village-phone").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let next = body["refresh_token"].as_str().unwrap().to_owned();
    // The lifetime counts from the last refresh: another 89 days later it is still good...
    shift_tokens_back(&mut app.db().get().unwrap(), 89);
    let (status, body) = refresh(&app, &next, "village-phone").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let last = body["refresh_token"].as_str().unwrap().to_owned();
    // ...but a token unused for longer than the lifetime (90 days) has expired.
    shift_tokens_back(&mut app.db().get().unwrap(), 91);
    let (status, body) = refresh(&app, &last, "village-phone").await;
    assert_problem(status, &body, 401, "refresh_token_expired");
}

fn forge(header: Value, claims: Value, key: &[u8]) -> String {
    use hmac_sha256::HMAC;
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let sig = URL_SAFE_NO_PAD.encode(HMAC::mac(format!("{head}.{body}").as_bytes(), key));
    format!("{head}.{body}.{sig}")
}

#[tokio::test]
async fn bad_access_tokens_get_401_each_with_its_own_code() {
    let app = TestApp::spawn().await;
    let good = app.admin.access.clone();
    let parts: Vec<&str> = good.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();

    // Tampered: claims changed (a longer life), signature kept.
    claims["exp"] = json!(claims["exp"].as_i64().unwrap() + 86_400 * 365);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    // Signed with a key that is not the server's (no kid, or the server's kid).
    let wrong_key = forge(
        json!({"alg": "HS256", "typ": "JWT"}),
        claims.clone(),
        b"not the server key, 32 bytes long",
    );
    let wrong_key_same_kid = forge(
        header.clone(),
        claims.clone(),
        b"not the server key, 32 bytes long",
    );
    // alg: none, no signature.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let cases = [
        (tampered, "token_signature_invalid"),
        (wrong_key, "token_unknown_key"),
        (wrong_key_same_kid, "token_signature_invalid"),
        (none, "token_algorithm_not_allowed"),
        ("not-a-jwt".to_owned(), "token_malformed"),
    ];
    for (token, code) in cases {
        let (status, body) = app.get("/api/v1/me", &token).await;
        assert_problem(status, &body, 401, code);
    }
    let (status, body) = app.call(Method::GET, "/api/v1/me", None, None).await;
    assert_problem(status, &body, 401, "unauthenticated");
    // The untouched token still works: the refusals were about the tokens, not the session.
    assert_eq!(app.get("/api/v1/me", &good).await.0, StatusCode::OK);
}

#[tokio::test]
async fn expired_access_tokens_get_token_expired() {
    // Access tokens issued already two minutes past their end (beyond the 30 s leeway).
    let app = TestApp::spawn_with(|s| s.auth.access_ttl_secs = -120).await;
    let (status, body) = app.get("/api/v1/me", &app.admin.access).await;
    assert_problem(status, &body, 401, "token_expired");
    // The refresh token still gets a new (equally short-lived) pair: expiry is not revocation.
    assert_eq!(
        refresh(&app, &app.admin.refresh, "admin-laptop").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn login_is_rate_limited_per_username() {
    let app = TestApp::spawn_with(|s| s.auth.login_per_username_per_minute = 3).await;
    // The harness's own admin login used one attempt.
    let attempt = |user: &'static str| {
        app.call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": user, "password": "wrong-password", "device_id": "d"})),
        )
    };
    assert_eq!(attempt("admin").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(attempt("admin").await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = attempt("admin").await;
    assert_problem(status, &body, 429, "too_many_login_attempts");
    assert!(body["retry_after_secs"].as_u64().unwrap() >= 1);
    // Even the right password waits now; another username does not.
    let right = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "admin", "password": closeout_tests::ADMIN_PASSWORD, "device_id": "d"})),
        )
        .await;
    assert_eq!(right.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(attempt("someone").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn login_is_rate_limited_per_ip() {
    let app = TestApp::spawn_with(|s| s.auth.login_per_ip_per_minute = 4).await;
    let mut statuses = Vec::new();
    for user in ["a1", "a2", "a3", "a4"] {
        let (status, _) = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": user, "password": "whatever-pw", "device_id": "d"})),
            )
            .await;
        statuses.push(status.as_u16());
    }
    // One attempt went to the harness's admin login; three more are allowed, the fourth is not.
    assert_eq!(statuses, vec![401, 401, 401, 429]);
}
