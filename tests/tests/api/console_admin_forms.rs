//! The console's forms for what issue 15 added to the API: moving a role between places, and
//! creating, moving and merging places. Each is the API's domain call with its rule: refused
//! without the CSRF token, refused to an admin of a place below (the API's 403/404), and its
//! effect read back through the API.

use super::console::Console;
use closeout_sync_protocol::Role;
use closeout_tests::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

async fn text(res: reqwest::Response) -> String {
    res.text().await.unwrap()
}

async fn roles_of(app: &TestApp, username: &str) -> Vec<(String, String)> {
    let (_, users) = app.get("/api/v1/users?limit=500", &app.admin.access).await;
    let user = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap()
        .clone();
    user["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["role"].as_str().unwrap().to_owned(),
                r["org_unit"]["id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

async fn place(app: &TestApp, id: &str) -> Value {
    let (status, place) = app
        .get(&format!("/api/v1/org-units/{id}"), &app.admin.access)
        .await;
    assert_eq!(status, StatusCode::OK, "{place}");
    place
}

#[tokio::test]
async fn a_role_moves_between_places_from_the_people_page() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let p = &c.places;
    let admin = Console::login(&app, &app.admin).await;
    let page = text(admin.get("/console/admin/users").await).await;
    assert!(page.contains("class=\"move-role\""), "{page}");
    let roles = format!("/console/admin/users/{}/roles", c.worker_a.id);
    let to_b = [
        ("op", "move"),
        ("role", "grid_worker"),
        ("org_unit_id", p.village_a.as_str()),
        ("to_org_unit_id", p.village_b.as_str()),
    ];
    // Without the token: refused, the role stays.
    let res = admin.post(&roles, &to_b).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        roles_of(&app, &c.worker_a.username).await,
        [("grid_worker".to_owned(), p.village_a.clone())]
    );
    // An admin of village A alone may not move it to village B (not theirs).
    let village_admin = app
        .user_with("admin-a", &[(Role::Admin, Some(&p.village_a))])
        .await;
    let va = Console::login(&app, &village_admin).await;
    let mut with = to_b.to_vec();
    with.push(("csrf", &va.csrf));
    let res = va.post(&roles, &with).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(
        roles_of(&app, &c.worker_a.username).await,
        [("grid_worker".to_owned(), p.village_a.clone())]
    );
    // The county's admin moves it: one role, now on village B.
    let mut with = to_b.to_vec();
    with.push(("csrf", &admin.csrf));
    let res = admin.post(&roles, &with).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/console/admin/users?done=moved");
    assert_eq!(
        roles_of(&app, &c.worker_a.username).await,
        [("grid_worker".to_owned(), p.village_b.clone())]
    );
    let page = text(admin.get("/console/admin/users?done=moved").await).await;
    assert!(page.contains("角色已调整"), "{page}");
    // A role the account does not hold: the domain's refusal as a page, not a 500.
    let res = admin.post(&roles, &with).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    let res = admin
        .post(
            &roles,
            &[
                ("op", "move"),
                ("role", "grid_worker"),
                ("org_unit_id", p.village_b.as_str()),
                ("to_org_unit_id", "not-a-place"),
                ("csrf", &admin.csrf),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn places_are_created_moved_and_merged_from_the_places_page() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let p = &c.places;
    let admin = Console::login(&app, &app.admin).await;
    let page = text(admin.get("/console/admin/places").await).await;
    for form in ["form-new-place", "form-move-place", "form-merge-place"] {
        assert!(page.contains(form), "{form}: {page}");
    }

    // Create: refused without the token and to a village's admin; made by the county's.
    let new_town = [
        ("parent_id", p.county.as_str()),
        ("name", "新城镇"),
        ("code", "130102003000"),
        ("level", "township"),
    ];
    let res = admin.post("/console/admin/places", &new_town).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let village_admin = app
        .user_with("admin-a", &[(Role::Admin, Some(&p.village_a))])
        .await;
    let va = Console::login(&app, &village_admin).await;
    let mut with = new_town.to_vec();
    with.push(("csrf", &va.csrf));
    let res = va.post("/console/admin/places", &with).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    let mut with = new_town.to_vec();
    with.push(("csrf", &admin.csrf));
    let res = admin.post("/console/admin/places", &with).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = text(admin.get("/console/admin/places?done=created").await).await;
    assert!(
        page.contains("新城镇") && page.contains("区划已新增"),
        "{page}"
    );
    let (_, all) = app
        .get("/api/v1/org-units?limit=500", &app.admin.access)
        .await;
    let town2 = all
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "新城镇")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The same code again: the domain's 409 page; a level that cannot sit there: 422.
    let res = admin.post("/console/admin/places", &with).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = admin
        .post(
            "/console/admin/places",
            &[
                ("parent_id", p.village_a.as_str()),
                ("name", "错层"),
                ("code", ""),
                ("level", "county"),
                ("csrf", &admin.csrf),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Move village A (with an issue) under the new town.
    let issue = app.report(&c.worker_a, &p.village_a, "村口垃圾").await;
    let issue = issue["id"].as_str().unwrap().to_owned();
    let move_a = [
        ("id", p.village_a.as_str()),
        ("parent_id", town2.as_str()),
        ("reason", "区划调整〔2026〕3号"),
    ];
    let res = admin.post("/console/admin/places/move", &move_a).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let mut with = move_a.to_vec();
    with.push(("csrf", &va.csrf));
    let res = va.post("/console/admin/places/move", &with).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(
        place(&app, &p.village_a).await["parent_id"],
        p.town.as_str()
    );
    let mut with = move_a.to_vec();
    with.push(("csrf", &admin.csrf));
    let res = admin.post("/console/admin/places/move", &with).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(place(&app, &p.village_a).await["parent_id"], town2.as_str());
    let (_, detail) = app
        .get(&format!("/api/v1/issues/{issue}"), &app.admin.access)
        .await;
    let last = detail["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "place_change", "{detail}");
    assert_eq!(last["data"]["change"], "move", "{detail}");

    // Merge village B into village A: B retired, merged into A.
    let merge_b = [
        ("id", p.village_b.as_str()),
        ("into", p.village_a.as_str()),
        ("reason", "撤村并居"),
        ("csrf", admin.csrf.as_str()),
    ];
    let res = admin.post("/console/admin/places/merge", &merge_b).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let b = place(&app, &p.village_b).await;
    assert_eq!(b["retired"], true, "{b}");
    assert_eq!(b["merged_into"], p.village_a.as_str(), "{b}");
    let page = text(admin.get("/console/admin/places?done=merged").await).await;
    assert!(page.contains("区划已撤并"), "{page}");
}
