//! Category aliases are editable: a county's admin maps the county's own wordings to categories,
//! the import and its preview use them, and only that county's rows see them.

use closeout_sync_protocol::Role;
use closeout_tests::{TestApp, assert_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn preview(app: &TestApp, token: &str, csv: &str) -> Value {
    let res = app
        .client
        .post(app.url("/api/v1/issues/import/preview?file_name=list.csv"))
        .bearer_auth(token)
        .body(csv.as_bytes().to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

const LIST: &str =
    "序号,所属村（社区）,问题类别,问题描述\n1,甲社区,河道漂浮物,河道内漂浮垃圾较多\n";

#[tokio::test]
async fn a_county_admin_edits_aliases_and_the_import_preview_uses_them() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let p = &c.places;
    let county_admin = app
        .user_with("county-admin", &[(Role::Admin, Some(&p.county))])
        .await;
    let county_supervisor = app
        .user_with("county-sup", &[(Role::Supervisor, Some(&p.county))])
        .await;
    let village_admin = app
        .user_with("village-admin", &[(Role::Admin, Some(&p.village_a))])
        .await;

    // Unknown wording: the row is named.
    let plan = preview(&app, &c.supervisor.access, LIST).await;
    assert_eq!(plan["errors"][0]["row"], 2, "{plan}");
    assert!(
        plan["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("河道漂浮物")
    );

    let alias =
        json!({"alias": "河道漂浮物", "category": "river_reservoir", "county_id": p.county});
    let (status, problem) = app
        .post(
            "/api/v1/category-aliases",
            &county_supervisor.access,
            alias.clone(),
        )
        .await;
    assert_problem(status, &problem, 403, "forbidden");
    let (status, problem) = app
        .post(
            "/api/v1/category-aliases",
            &village_admin.access,
            alias.clone(),
        )
        .await;
    assert_problem(status, &problem, 404, "not_found");
    let (status, problem) = app
        .post(
            "/api/v1/category-aliases",
            &county_admin.access,
            json!({"alias": "河道漂浮物", "category": "river_reservoir", "county_id": p.town}),
        )
        .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let (status, problem) = app
        .post(
            "/api/v1/category-aliases",
            &county_admin.access,
            json!({"alias": "河道漂浮物", "category": "no_such"}),
        )
        .await;
    assert_problem(status, &problem, 403, "forbidden"); // a default needs a system admin
    let (status, created) = app
        .post(
            "/api/v1/category-aliases",
            &county_admin.access,
            alias.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, problem) = app
        .post("/api/v1/category-aliases", &county_admin.access, alias)
        .await;
    assert_problem(status, &problem, 409, "category_alias_taken");

    let plan = preview(&app, &c.supervisor.access, LIST).await;
    assert_eq!(plan["errors"].as_array().unwrap().len(), 0, "{plan}");
    assert_eq!(plan["items"][0]["category"], "river_reservoir");

    // Listed with the defaults where it applies; not in another county.
    let (status, list) = app
        .get(
            &format!("/api/v1/category-aliases?place_id={}", p.village_a),
            &c.worker_a.access,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let words: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["alias"].as_str().unwrap())
        .collect();
    assert!(
        words.contains(&"河道漂浮物") && words.contains(&"污水直排"),
        "{words:?}"
    );
    let other = app
        .add_place("130104000000", "桥西区", "county", Some(&p.city))
        .await;
    let other_admin = app
        .user_with("other-admin", &[(Role::Admin, Some(&other))])
        .await;
    let (_, list) = app
        .get("/api/v1/category-aliases", &other_admin.access)
        .await;
    assert!(!list.to_string().contains("河道漂浮物"), "{list}");

    // Removing: another county's admin does not see it; a default needs a system admin.
    let id = created["id"].as_str().unwrap();
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/category-aliases/{id}")))
        .bearer_auth(&other_admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let default_id = "0193f000-0000-7000-8000-00000000a008";
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/category-aliases/{default_id}")))
        .bearer_auth(&county_admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/category-aliases/{id}")))
        .bearer_auth(&county_admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let plan = preview(&app, &c.supervisor.access, LIST).await;
    assert_eq!(plan["errors"].as_array().unwrap().len(), 1, "{plan}");

    // The CLI: a county alias, listed, removed.
    let out = app
        .env
        .cli(
            &[
                "category-alias",
                "add",
                "河道漂浮物",
                "river_reservoir",
                "--county",
                "130102000000",
            ],
            "",
        )
        .unwrap();
    assert!(out.contains("now means river_reservoir"), "{out}");
    let out = app.env.cli(&["category-alias", "list"], "").unwrap();
    assert!(
        out.contains("河道漂浮物\triver_reservoir\t130102000000 长安区"),
        "{out}"
    );
    let plan = preview(&app, &c.supervisor.access, LIST).await;
    assert_eq!(plan["items"][0]["category"], "river_reservoir", "{plan}");
    app.env
        .cli(
            &[
                "category-alias",
                "remove",
                "河道漂浮物",
                "--county",
                "130102000000",
            ],
            "",
        )
        .unwrap();
    let err = app
        .env
        .cli(
            &[
                "category-alias",
                "remove",
                "河道漂浮物",
                "--county",
                "130102000000",
            ],
            "",
        )
        .unwrap_err();
    assert!(err.contains("no alias"), "{err}");
}
