//! Function-level authorization over the whole API: every operation of `/openapi.json` × every
//! role × own place / other place, checked against the one table in docs/api.md ("Role ×
//! operation"). An operation without a row fails the test, naming the operation.
//!
//! `CLOSEOUT_ROLE_MATRIX_PRINT=1` prints every row with the statuses the server gave, to review and
//! paste when adding rows.

use closeout_sync_protocol::Role;
use closeout_tests::photos::{fresh_jpeg, metadata_for, repo_root};
use closeout_tests::{TestApp, TestUser};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};

/// The role columns, in the order of the table.
const COLUMNS: [&str; 7] = [
    "grid_worker",
    "inspector",
    "responsible",
    "supervisor",
    "admin (village)",
    "admin (county)",
    "no role",
];

const HEADER: &str = "| operation | request |";

/// One row: an operation, the request that exercises it and the status each role gets for its own
/// place and for another county's.
#[derive(Debug, Clone)]
struct Row {
    line: usize,
    operation: String,
    /// Path (with query) when it differs from the operation's, placeholders in `{braces}`.
    path: Option<String>,
    /// JSON (`{…}`) or CSV (`csv:…`, `\n` between lines) body.
    body: Option<String>,
    expected: Vec<(u16, u16)>,
}

fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_owned())
        .collect()
}

fn parse_status_pair(cell: &str) -> Option<(u16, u16)> {
    let cell = cell.trim();
    match cell.split_once('/') {
        Some((own, other)) => Some((own.trim().parse().ok()?, other.trim().parse().ok()?)),
        None => {
            let s = cell.parse().ok()?;
            Some((s, s))
        }
    }
}

/// The rows of the table under the header line that starts with [`HEADER`].
fn read_table() -> Vec<Row> {
    let path = repo_root().join("docs/api.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines().enumerate();
    let header = lines
        .by_ref()
        .find(|(_, l)| l.starts_with(HEADER))
        .unwrap_or_else(|| panic!("{}: no table starting `{HEADER}`", path.display()));
    let columns: Vec<&str> = header.1.split('|').map(str::trim).collect();
    assert_eq!(
        &columns[3..3 + COLUMNS.len()],
        &COLUMNS,
        "docs/api.md line {}: role columns",
        header.0 + 1
    );
    let mut rows = Vec::new();
    for (i, line) in lines {
        if !line.starts_with('|') {
            break;
        }
        if line.starts_with("|---") {
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert!(
            cells.len() >= 3 + COLUMNS.len(),
            "docs/api.md line {}: expected {} cells: {line}",
            i + 1,
            2 + COLUMNS.len()
        );
        let operation = code_spans(cells[1])
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("docs/api.md line {}: no `METHOD /path`", i + 1));
        let mut path = None;
        let mut body = None;
        for span in code_spans(cells[2]) {
            if span.starts_with('/') {
                path = Some(span);
            } else {
                body = Some(span);
            }
        }
        let expected = cells[3..3 + COLUMNS.len()]
            .iter()
            .map(|c| {
                parse_status_pair(c).unwrap_or_else(|| {
                    panic!(
                        "docs/api.md line {}: `{c}` is not `STATUS` or `OWN / OTHER`",
                        i + 1
                    )
                })
            })
            .collect();
        rows.push(Row {
            line: i + 1,
            operation,
            path,
            body,
            expected,
        });
    }
    rows
}

/// Every `METHOD /path` of the OpenAPI document.
async fn operations(app: &TestApp) -> BTreeSet<String> {
    let (status, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete", "head", "options"] {
            if item.get(method).is_some() {
                ops.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    ops
}

/// What the callers act on: a village (own: where they hold their roles; other: in another county),
/// with an issue, an inspection and a photo there, and a grid worker whose devices can be managed.
struct Side {
    place: String,
    code: String,
    /// The county above `place`.
    county: String,
    worker: TestUser,
    issue: String,
    /// An issue assigned to a responsible unit of the side's county (its notice exists).
    assigned: String,
    inspection: String,
    photo: String,
}

struct World {
    app: TestApp,
    /// Supervisor, inspector and grid worker over the whole city: makes the fixtures.
    keeper: TestUser,
    own: Side,
    other: Side,
    callers: Vec<TestUser>,
    counter: AtomicU32,
}

const TEMPLATE: &str = r#"{"name":"权限测试表","category":"three_piles","items":[{"key":"a","title":"整洁","kind":"pass_fail","points":10,"severity":"minor"}]}"#;

fn today() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .date_naive()
        .to_string()
}

impl World {
    async fn build() -> Self {
        let app = TestApp::spawn().await;
        let p = app.places().await;
        let county_b = app
            .add_place("130104000000", "桥西区", "county", Some(&p.city))
            .await;
        let village_x = app
            .add_place("130104001001", "丙村", "village", Some(&county_b))
            .await;
        let keeper = app
            .user_with(
                "keeper",
                &[
                    (Role::Supervisor, Some(&p.city)),
                    (Role::Inspector, Some(&p.city)),
                    (Role::GridWorker, Some(&p.city)),
                ],
            )
            .await;
        let a = Some(p.village_a.as_str());
        let mut callers = Vec::new();
        for (name, role, place) in [
            ("m-grid", Role::GridWorker, a),
            ("m-inspector", Role::Inspector, a),
            ("m-responsible", Role::Responsible, a),
            ("m-supervisor", Role::Supervisor, a),
            ("m-village-admin", Role::Admin, a),
            ("m-county-admin", Role::Admin, Some(p.county.as_str())),
        ] {
            callers.push(app.user_with(name, &[(role, place)]).await);
        }
        callers.push(app.user_with("m-nobody", &[]).await);
        Self {
            own: side(
                &app,
                &keeper,
                &p.village_a,
                "130102001001",
                &p.county,
                "own",
            )
            .await,
            other: side(
                &app,
                &keeper,
                &village_x,
                "130104001001",
                &county_b,
                "other",
            )
            .await,
            app,
            keeper,
            callers,
            counter: AtomicU32::new(1),
        }
    }

    fn fresh(&self) -> u32 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// Replaces every `{placeholder}` in `text` with a fixture on `side`, made fresh when the act
    /// could use it up (an issue, a template, a schedule, a device, an upload).
    async fn resolve(&self, text: &str, side: &Side, caller: &TestUser) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            let name = &rest[start + 1..start + len];
            let value = match name {
                "place" => side.place.clone(),
                "place_code" => side.code.clone(),
                "county" => side.county.clone(),
                "alias" => self.alias(side).await,
                "issue" => self.issue(side).await,
                "shared_issue" => side.issue.clone(),
                "assigned_issue" => side.assigned.clone(),
                "inspection" => side.inspection.clone(),
                "photo" => side.photo.clone(),
                "user" => side.worker.id.clone(),
                "account" => self.account(side).await,
                "new_place" => self.new_place(side).await,
                "device" => self.device(side).await,
                "template" => self.template().await,
                "schedule" => self.schedule(side).await,
                "upload" => self.upload(&self.keeper).await,
                "own_upload" => self.upload(caller).await,
                "fresh" => format!("mx{}", self.fresh()),
                "uuid" | "unknown" => uuid::Uuid::now_v7().to_string(),
                "today" => today(),
                "now" => chrono::Utc::now().to_rfc3339(),
                // Not a placeholder: JSON braces.
                _ => {
                    out.push_str(&rest[..=start]);
                    rest = &rest[start + 1..];
                    continue;
                }
            };
            out.push_str(&rest[..start]);
            out.push_str(&value);
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        out
    }

    async fn issue(&self, side: &Side) -> String {
        let n = self.fresh();
        self.app
            .report(&self.keeper, &side.place, &format!("问题{n}"))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A new grid worker of the side's place (not logged in).
    async fn account(&self, side: &Side) -> String {
        let (status, u) = self
            .app
            .post(
                "/api/v1/users",
                &self.app.admin.access,
                json!({"username": format!("mx{}", self.fresh()), "display_name": "新人",
                       "password": "account-password",
                       "roles": [{"role": "grid_worker", "org_unit_id": side.place}]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{u}");
        u["id"].as_str().unwrap().to_owned()
    }

    /// A new category alias of the side's county (made by the system admin).
    async fn alias(&self, side: &Side) -> String {
        let (status, a) = self
            .app
            .post(
                "/api/v1/category-aliases",
                &self.app.admin.access,
                json!({"alias": format!("mx{}", self.fresh()), "category": "three_piles",
                       "county_id": side.county}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        a["id"].as_str().unwrap().to_owned()
    }

    /// A new grid under the side's place.
    async fn new_place(&self, side: &Side) -> String {
        let code = format!("mx{}", self.fresh());
        self.app
            .add_place(&code, "新网格", "grid", Some(&side.place))
            .await
    }

    async fn template(&self) -> String {
        let body: Value = serde_json::from_str(TEMPLATE).unwrap();
        let (status, t) = self
            .app
            .post(
                "/api/v1/checklist-templates",
                &self.app.admin.access,
                json!({"code": format!("mx{}", self.fresh()), "content": body}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{t}");
        t["id"].as_str().unwrap().to_owned()
    }

    async fn schedule(&self, side: &Side) -> String {
        let (status, s) = self
            .app
            .post(
                "/api/v1/inspection-schedules",
                &self.keeper.access,
                json!({"place_id": side.place, "template_id": "0193f000-0000-7000-8000-000000000001",
                       "cadence": "weekly", "starts_on": today()}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{s}");
        s["id"].as_str().unwrap().to_owned()
    }

    async fn device(&self, side: &Side) -> String {
        let key = format!("phone-{}", self.fresh());
        let w = &side.worker;
        let session = self.app.login(&w.username, &w.password, &key).await;
        let (_, list) = self.app.get("/api/v1/devices", &session.access).await;
        list.as_array()
            .unwrap()
            .iter()
            .find(|d| d["device_key"] == key)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// An upload `owner` started (10 bytes announced, none sent).
    async fn upload(&self, owner: &TestUser) -> String {
        let res = self
            .app
            .tus(
                Method::POST,
                "/api/v1/uploads",
                &owner.access,
                &[
                    ("Upload-Length", "10".to_owned()),
                    ("Upload-Metadata", metadata_for(b"0123456789", &[])),
                ],
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
        let location = res.header("Location").unwrap();
        location.rsplit('/').next().unwrap().to_owned()
    }

    /// Sends the row's request as `caller` against `side`; returns the status.
    async fn send(&self, row: &Row, caller: &TestUser, side: &Side) -> (u16, String) {
        let (method, op_path) = row.operation.split_once(' ').unwrap();
        let method: Method = method.parse().unwrap();
        let path = self
            .resolve(row.path.as_deref().unwrap_or(op_path), side, caller)
            .await;
        let body = match &row.body {
            Some(b) => Some(self.resolve(b, side, caller).await),
            None => None,
        };
        let mut req = self
            .app
            .client
            .request(method.clone(), self.app.url(&path))
            .bearer_auth(&caller.access);
        if path.starts_with("/api/v1/uploads") {
            req = req.header("Tus-Resumable", "1.0.0");
            if method == Method::POST {
                req = req
                    .header("Upload-Length", "10")
                    .header("Upload-Metadata", metadata_for(b"0123456789", &[]));
            }
            if method == Method::PATCH {
                req = req
                    .header("Upload-Offset", "0")
                    .header("Content-Type", "application/offset+octet-stream")
                    .body(b"01234".to_vec());
            }
        }
        match body {
            Some(csv) if csv.starts_with("csv:") => {
                req = req
                    .header("Content-Type", "text/csv")
                    .body(csv["csv:".len()..].replace("\\n", "\n").into_bytes());
            }
            Some(json) => {
                let value: Value = serde_json::from_str(&json).unwrap_or_else(|e| {
                    panic!(
                        "docs/api.md line {}: body is not JSON ({e}): {json}",
                        row.line
                    )
                });
                req = req.json(&value);
            }
            None => {}
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        let code = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        (status, code)
    }
}

async fn side(
    app: &TestApp,
    keeper: &TestUser,
    place: &str,
    code: &str,
    county: &str,
    tag: &str,
) -> Side {
    let worker = app
        .user_with(&format!("worker-{tag}"), &[(Role::GridWorker, Some(place))])
        .await;
    let issue = app.report(keeper, place, "共用问题").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let photo = app
        .upload_for(&keeper.access, &fresh_jpeg(), "before", &issue)
        .await;
    let unit = app
        .add_place(&format!("{code}-zjj"), "住建局", "department", Some(county))
        .await;
    let head = app
        .user_with(
            &format!("unit-head-{tag}"),
            &[(Role::Responsible, Some(&unit))],
        )
        .await;
    let assigned = app.report(keeper, place, "已交办问题").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = app
        .act(
            keeper,
            &assigned,
            json!({"action": "assign", "responsible_unit_id": unit, "responsible_user_id": head.id,
                   "target": "整改到位",
                   "deadline": (chrono::Utc::now() + chrono::Duration::days(10)).date_naive()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "assigned fixture: {body}");
    let inspection = uuid::Uuid::now_v7().to_string();
    let (status, body) = app
        .post(
            "/api/v1/inspections",
            &keeper.access,
            json!({"inspection_id": inspection,
                   "header": {"template_id": "0193f000-0000-7000-8000-000000000001", "template_version": 1,
                              "place_id": place, "mode": "scheduled", "site": "村口",
                              "started_at": chrono::Utc::now() - chrono::Duration::hours(1)},
                   "items": []}),
        )
        .await;
    assert!(status.is_success(), "inspection fixture: {body}");
    Side {
        place: place.to_owned(),
        code: code.to_owned(),
        county: county.to_owned(),
        worker,
        issue,
        assigned,
        inspection,
        photo,
    }
}

fn cell((own, other): (u16, u16)) -> String {
    if own == other {
        own.to_string()
    } else {
        format!("{own} / {other}")
    }
}

#[tokio::test]
async fn every_operation_answers_each_role_as_the_table_in_api_md_says() {
    let rows = read_table();
    let world = World::build().await;
    let ops = operations(&world.app).await;

    let documented: BTreeSet<String> = rows.iter().map(|r| r.operation.clone()).collect();
    let missing: Vec<&String> = ops.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "operations in /openapi.json without a row in the role × operation table of docs/api.md \
         (add `| `METHOD /path` | request | {} |`): {missing:#?}",
        COLUMNS.join(" | ")
    );
    let stale: Vec<&String> = documented.difference(&ops).collect();
    assert!(
        stale.is_empty(),
        "rows in docs/api.md for operations /openapi.json does not have: {stale:#?}"
    );

    let print = std::env::var_os("CLOSEOUT_ROLE_MATRIX_PRINT").is_some();
    let mut wrong = Vec::new();
    for row in &rows {
        let mut got = Vec::new();
        for caller in &world.callers {
            let own = world.send(row, caller, &world.own).await;
            let other = world.send(row, caller, &world.other).await;
            got.push(((own.0, other.0), (own.1, other.1)));
        }
        if print {
            let cells: Vec<String> = got.iter().map(|(s, _)| cell(*s)).collect();
            println!("{} | {}", row.operation, cells.join(" | "));
        }
        for ((column, expected), (actual, codes)) in COLUMNS.iter().zip(&row.expected).zip(&got) {
            if expected != actual {
                wrong.push(format!(
                    "docs/api.md line {}: {} as {column}: expected {}, got {} ({} / {})",
                    row.line,
                    row.operation,
                    cell(*expected),
                    cell(*actual),
                    codes.0,
                    codes.1
                ));
            }
        }
    }
    assert!(
        print || wrong.is_empty(),
        "{} answers differ from the table:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
