//! The test harness: [`TestApp`] starts a real Closeout server on port 0 with an isolated database
//! — a temporary SQLite file, or a fresh PostgreSQL database when `CLOSEOUT_TEST_BACKEND=postgres`
//! (server at `CLOSEOUT_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`) — and hands
//! out users with tokens. Tests talk to it over HTTP only, as a phone or a browser would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use closeout::Settings;
use closeout::api::state::password_policy;
use closeout::db::Db;
use closeout::domain::accounts::{self, NewUser, RoleGrant};
use closeout_sync_protocol::Role;
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::io::Write;

pub use closeout_sync_protocol as protocol;

pub mod browser;
pub mod disk;
pub mod lists;
pub mod photos;
pub mod proxy;
pub mod replicas;
pub mod simulator;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend this test run uses (the test script runs the suite once for each).
pub fn backend() -> Backend {
    match std::env::var("CLOSEOUT_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("CLOSEOUT_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

fn pg_base_url() -> String {
    std::env::var("CLOSEOUT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// `postgres://u@h:p/db?x` with the database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (head, query) = url
        .split_once('?')
        .map_or((url, None), |(h, q)| (h, Some(q)));
    let base = head.rsplit_once('/').map_or(head, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// A throwaway PostgreSQL database, dropped when the test ends.
pub struct PgDatabase {
    pub url: String,
    name: String,
}

impl PgDatabase {
    pub fn create() -> Self {
        let base = pg_base_url();
        let mut conn = PgConnection::establish(&base).unwrap_or_else(|e| {
            panic!("CLOSEOUT_TEST_BACKEND=postgres but {base} is unreachable: {e}")
        });
        let name = format!("closeout_t_{}", uuid::Uuid::new_v4().simple());
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .unwrap();
        // The test script checks this file to prove the PostgreSQL run really used PostgreSQL.
        if let Ok(marker) = std::env::var("CLOSEOUT_TEST_PG_MARKER") {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(marker)
                .unwrap();
            writeln!(f, "{name}").unwrap();
        }
        Self {
            url: with_database(&base, &name),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&pg_base_url()) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

/// An isolated database and data directory, not yet served (for CLI and start-up tests).
pub struct TestEnv {
    pub settings: Settings,
    pub data_dir: tempfile::TempDir,
    pub pg: Option<PgDatabase>,
}

impl TestEnv {
    pub fn new() -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let pg = match backend() {
            Backend::Postgres => Some(PgDatabase::create()),
            Backend::Sqlite => None,
        };
        let mut settings = Settings {
            listen: "127.0.0.1:0".into(),
            data_dir: data_dir.path().to_path_buf(),
            database_url: pg.as_ref().map(|p| SecretString::from(p.url.clone())),
            ..Settings::default()
        };
        settings.database.pool_size = 4;
        settings.http.workers = Some(1);
        settings.http.shutdown_timeout_secs = 1;
        // Cheap hashes: tests log in hundreds of times. Production defaults are tested in unit tests.
        settings.auth.argon2_memory_kib = 512;
        settings.auth.argon2_iterations = 1;
        settings.auth.login_per_username_per_minute = 0;
        settings.auth.login_per_ip_per_minute = 0;
        Self {
            settings,
            data_dir,
            pg,
        }
    }

    pub fn db(&self) -> Db {
        closeout::startup::open_database(&self.settings).unwrap()
    }

    /// Runs a CLI command with `stdin` as its input; returns what it printed, or its error.
    pub fn cli(&self, args: &[&str], stdin: &str) -> Result<String, String> {
        use clap::Parser;
        let mut argv = vec!["closeout"];
        argv.extend_from_slice(args);
        let cli = closeout::cli::Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        let mut input = std::io::Cursor::new(stdin.as_bytes().to_vec());
        let mut output = Vec::new();
        let mut console = closeout::cli::Console {
            input: &mut input,
            output: &mut output,
        };
        let result = closeout::cli::run(cli.command, self.settings.clone(), &mut console);
        let printed = String::from_utf8(output).unwrap();
        result
            .map(|()| printed.clone())
            .map_err(|e| format!("{e:#}\n{printed}"))
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

/// A logged-in person.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub username: String,
    pub password: String,
    pub device_id: String,
    pub access: String,
    pub refresh: String,
}

/// The place tree every test starts with (codes as in a real county).
#[derive(Debug, Clone)]
pub struct Places {
    pub province: String,
    pub city: String,
    pub county: String,
    pub town: String,
    pub village_a: String,
    pub village_b: String,
    pub grid_a1: String,
    pub grid_b1: String,
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub admin: TestUser,
    pub env: TestEnv,
    handle: actix_web::dev::ServerHandle,
    /// The server's copy of the issues' figures (only the copy: holding its pool would keep the
    /// database open after the server stops, and a restore waits for that).
    figures: std::sync::Arc<closeout::db::issue_figures::FigureStore>,
}

pub const ADMIN_PASSWORD: &str = "admin-password-1";

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server after `configure` has adjusted the test settings.
    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
        let mut env = TestEnv::new();
        configure(&mut env.settings);
        let db = env.db();
        accounts::create_user(
            &mut db.get().unwrap(),
            None,
            NewUser {
                username: "admin".into(),
                display_name: "管理员".into(),
                phone: None,
                password: ADMIN_PASSWORD.into(),
                roles: vec![RoleGrant {
                    role: Role::Admin,
                    org_unit_id: None,
                }],
            },
            password_policy(&env.settings),
        )
        .unwrap();
        let app = closeout::Application::build(env.settings.clone()).unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        let figures = app.state().db.figures();
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // Below the server's 5 s keep-alive, so an idle pooled connection is never reused
            // just as the server closes it.
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap();
        let mut this = Self {
            base,
            client,
            admin: TestUser {
                id: String::new(),
                username: "admin".into(),
                password: ADMIN_PASSWORD.into(),
                device_id: String::new(),
                access: String::new(),
                refresh: String::new(),
            },
            env,
            handle,
            figures,
        };
        this.admin = this.login("admin", ADMIN_PASSWORD, "admin-laptop").await;
        this
    }

    pub fn db(&self) -> Db {
        self.env.db()
    }

    /// Makes the server read every issue afresh for its next statistics, after a test wrote
    /// issues behind the change feed's back (back-dating them in SQL).
    pub fn forget_figures(&self) {
        self.figures.forget();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request; `body` None sends none. Returns status and parsed JSON (Null if not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Logs in (panics unless it succeeds).
    pub async fn login(&self, username: &str, password: &str, device_id: &str) -> TestUser {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": username, "password": password, "device_id": device_id})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login of {username} failed: {body}");
        TestUser {
            id: body["user_id"].as_str().unwrap().to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
            device_id: device_id.to_owned(),
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Creates a user (as the system admin) with `roles` as (role, org unit id or None) and logs in.
    pub async fn user_with(&self, username: &str, roles: &[(Role, Option<&str>)]) -> TestUser {
        let roles: Vec<Value> = roles
            .iter()
            .map(|(role, place)| json!({"role": role.as_str(), "org_unit_id": place}))
            .collect();
        let password = format!("{username}-password");
        let (status, body) = self
            .post(
                "/api/v1/users",
                &self.admin.access,
                json!({"username": username, "display_name": username, "password": password, "roles": roles}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "creating {username}: {body}");
        self.login(username, &password, &format!("{username}-phone"))
            .await
    }

    pub async fn add_place(
        &self,
        code: &str,
        name: &str,
        level: &str,
        parent: Option<&str>,
    ) -> String {
        let (status, body) = self
            .post(
                "/api/v1/org-units",
                &self.admin.access,
                json!({"code": code, "name": name, "level": level, "parent_id": parent}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "creating place {code}: {body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Province → city → county → town → villages A and B → one grid in each.
    pub async fn places(&self) -> Places {
        let province = self
            .add_place("130000000000", "河北省", "province", None)
            .await;
        let city = self
            .add_place("130100000000", "石家庄市", "city", Some(&province))
            .await;
        let county = self
            .add_place("130102000000", "长安区", "county", Some(&city))
            .await;
        let town = self
            .add_place("130102001000", "建北街道", "township", Some(&county))
            .await;
        let village_a = self
            .add_place("130102001001", "甲社区", "village", Some(&town))
            .await;
        let village_b = self
            .add_place("130102001002", "乙社区", "village", Some(&town))
            .await;
        let grid_a1 = self
            .add_place(
                "130102001001-01",
                "甲社区第一网格",
                "grid",
                Some(&village_a),
            )
            .await;
        let grid_b1 = self
            .add_place(
                "130102001002-01",
                "乙社区第一网格",
                "grid",
                Some(&village_b),
            )
            .await;
        Places {
            province,
            city,
            county,
            town,
            village_a,
            village_b,
            grid_a1,
            grid_b1,
        }
    }
}

/// A second server process on the same database (as behind a load balancer).
pub struct Replica {
    pub base: String,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Replica {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl TestApp {
    /// Stops the server (letting in-flight requests finish) and starts a new one on the same
    /// database and data directory, as an operator's restart would. Tokens stay valid.
    pub async fn restart(&mut self) {
        self.handle.stop(true).await;
        let app = closeout::Application::build(self.env.settings.clone()).unwrap();
        self.base = format!("http://127.0.0.1:{}", app.port());
        self.handle = app.handle();
        self.figures = app.state().db.figures();
        tokio::spawn(app.run_until_stopped());
    }

    /// Starts another server on the same database and data directory.
    pub fn replica(&self) -> Replica {
        let app = closeout::Application::build(self.env.settings.clone()).unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        Replica { base, handle }
    }

    /// Reports an issue in `place` as `user` (panics unless 201) and returns its JSON.
    pub async fn report(&self, user: &TestUser, place: &str, title: &str) -> Value {
        let (status, body) = self
            .post(
                "/api/v1/issues",
                &user.access,
                json!({"title": title, "description": "现场发现", "category": "three_piles",
                       "source": "grid_patrol", "place_id": place,
                       "location": {"lat": 38.05, "lon": 114.52, "accuracy_m": 8.0, "address": "建北街道1号"}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "report: {body}");
        body
    }

    /// Posts a transition; returns status and body.
    pub async fn act(&self, user: &TestUser, issue: &str, body: Value) -> (StatusCode, Value) {
        self.post(
            &format!("/api/v1/issues/{issue}/transitions"),
            &user.access,
            body,
        )
        .await
    }
}

/// The people of a ledger test: two villages' grid workers, the town's supervisor and inspector,
/// and a county bureau (a responsible unit outside the town) with its responsible person.
pub struct Cast {
    pub places: Places,
    pub bureau: String,
    pub worker_a: TestUser,
    pub worker_b: TestUser,
    pub supervisor: TestUser,
    pub inspector: TestUser,
    pub responsible: TestUser,
}

impl TestApp {
    pub async fn cast(&self) -> Cast {
        let places = self.places().await;
        let bureau = self
            .add_place(
                "130102-zjj",
                "长安区住建局",
                "department",
                Some(&places.county),
            )
            .await;
        Cast {
            worker_a: self
                .user_with("worker-a", &[(Role::GridWorker, Some(&places.village_a))])
                .await,
            worker_b: self
                .user_with("worker-b", &[(Role::GridWorker, Some(&places.village_b))])
                .await,
            supervisor: self
                .user_with("supervisor", &[(Role::Supervisor, Some(&places.town))])
                .await,
            inspector: self
                .user_with("inspector", &[(Role::Inspector, Some(&places.town))])
                .await,
            responsible: self
                .user_with("bureau-li", &[(Role::Responsible, Some(&bureau))])
                .await,
            bureau,
            places,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting; the database (if PostgreSQL) is dropped with `env`.
        drop(self.handle.stop(false));
    }
}

/// Asserts a problem+json error with this status and code, and the fields every problem has.
#[track_caller]
pub fn assert_problem(status: StatusCode, body: &Value, expected_status: u16, expected_code: &str) {
    assert_eq!(status.as_u16(), expected_status, "status for {body}");
    assert_eq!(body["code"], expected_code, "code in {body}");
    assert_eq!(body["status"], expected_status, "status member in {body}");
    assert_eq!(
        body["type"],
        format!("urn:closeout:problem:{expected_code}")
    );
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "title in {body}"
    );
    assert!(body["detail"].as_str().is_some(), "detail in {body}");
    let zh = body["message_zh"].as_str().unwrap_or("");
    assert!(
        zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "message_zh in Chinese: {body}"
    );
}

/// The real `closeout` binary (target/debug/closeout beside this test binary), built once per
/// test process with the cargo that runs the tests, so tests can run it as an operator would.
pub fn server_binary() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args(["build", "--quiet", "-p", "closeout", "--bin", "closeout"])
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
                .status()
                .unwrap();
            assert!(status.success(), "building the closeout binary failed");
            // target/debug/deps/api-… → target/debug/closeout
            let exe = std::env::current_exe().unwrap();
            let bin = exe.parent().unwrap().parent().unwrap().join("closeout");
            assert!(bin.exists(), "{} not found", bin.display());
            bin
        })
        .clone()
}

impl TestApp {
    /// Stops the server, runs `between` (e.g. a CLI command that needs it stopped), and starts it
    /// again on the same settings.
    pub async fn restart_after(&mut self, between: impl FnOnce(&TestEnv)) {
        self.handle.stop(true).await;
        between(&self.env);
        let app = closeout::Application::build(self.env.settings.clone()).unwrap();
        self.base = format!("http://127.0.0.1:{}", app.port());
        self.handle = app.handle();
        self.figures = app.state().db.figures();
        tokio::spawn(app.run_until_stopped());
    }
}
