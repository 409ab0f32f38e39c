//! The operator's command line: first admin, users, password resets, migrations.

use closeout_tests::{TestApp, TestEnv, assert_problem};
use reqwest::StatusCode;

#[tokio::test]
async fn user_add_with_roles_on_places_then_that_user_logs_in() {
    let app = TestApp::spawn().await;
    app.places().await;
    let out = app
        .env
        .cli(
            &[
                "user",
                "add",
                "13800000001",
                "--display-name",
                "王网格",
                "--role",
                "grid_worker@130102001001-01",
                "--role",
                "inspector@130102001000",
                "--password-stdin",
            ],
            "village-pass-1\n",
        )
        .unwrap();
    assert!(
        out.contains("role grid_worker on 130102001001-01 甲社区第一网格"),
        "{out}"
    );
    assert!(
        !out.contains("village-pass-1"),
        "a password given on stdin is not echoed"
    );
    let user = app
        .login("13800000001", "village-pass-1", "wang-phone")
        .await;
    let (_, me) = app.get("/api/v1/me", &user.access).await;
    assert_eq!(me["display_name"], "王网格");
    assert_eq!(me["roles"].as_array().unwrap().len(), 2);

    let list = app.env.cli(&["user", "list"], "").unwrap();
    assert!(
        list.contains("13800000001\t王网格\tgrid_worker@130102001001-01,inspector@130102001000"),
        "{list}"
    );
    assert!(list.contains("admin\t管理员\tadmin"), "{list}");
}

#[tokio::test]
async fn without_a_password_one_is_generated_and_shown_once() {
    let app = TestApp::spawn().await;
    let out = app
        .env
        .cli(&["user", "add", "office-admin", "--role", "admin"], "")
        .unwrap();
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("password (shown once): "))
        .unwrap_or_else(|| panic!("no password in {out}"));
    assert_eq!(password.len(), 16);
    app.login("office-admin", password, "pc").await;
}

#[tokio::test]
async fn bad_cli_input_is_refused_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let err = app
        .env
        .cli(&["user", "add", "x1x", "--role", "mayor"], "")
        .unwrap_err();
    assert!(err.contains("unknown role"), "{err}");
    let err = app
        .env
        .cli(
            &["user", "add", "x1x", "--role", "inspector@999999999999"],
            "",
        )
        .unwrap_err();
    assert!(err.contains("no place with code 999999999999"), "{err}");
    let err = app
        .env
        .cli(&["user", "add", "x1x", "--password-stdin"], "short\n")
        .unwrap_err();
    assert!(err.contains("at least 8"), "{err}");
    assert!(!app.env.cli(&["user", "list"], "").unwrap().contains("x1x"));
}

#[tokio::test]
async fn reset_password_ends_every_session_of_the_user() {
    let app = TestApp::spawn().await;
    let phone = app
        .login("admin", closeout_tests::ADMIN_PASSWORD, "phone")
        .await;
    app.env
        .cli(
            &["user", "reset-password", "admin", "--password-stdin"],
            "a-brand-new-password\n",
        )
        .unwrap();
    let (status, body) = app.get("/api/v1/me", &phone.access).await;
    assert_problem(status, &body, 401, "session_revoked");
    let fresh = app.login("admin", "a-brand-new-password", "phone").await;
    assert_eq!(app.get("/api/v1/me", &fresh.access).await.0, StatusCode::OK);
}

#[test]
fn migrate_is_idempotent() {
    let env = TestEnv::new();
    assert_eq!(
        env.cli(&["migrate"], "").unwrap(),
        "database is up to date\n"
    );
    assert_eq!(
        env.cli(&["migrate"], "").unwrap(),
        "database is up to date\n"
    );
}
