//! HTTP: actix handlers, one module per resource. Thin: parse, authorize (via the `Authenticated`
//! extractor and `domain::access`), call a domain function, map errors to problem+json.

pub mod auth;
pub mod categories;
pub mod category_aliases;
pub mod devices;
pub mod extract;
pub mod inspections;
pub mod issues;
pub mod middleware;
pub mod openapi;
pub mod openapi_fixes;
pub mod ops;
pub mod org_units;
pub mod photos;
pub mod problem;
pub mod reports;
pub mod schedules;
pub mod state;
pub mod stream;
pub mod sync;
pub mod templates;
pub mod text;
pub mod uploads;
pub mod users;

use actix_web::http::Method;
use actix_web::web;
use utoipa_swagger_ui::SwaggerUi;

/// Largest handed-down list accepted (an XLSX of tens of thousands of rows fits).
pub const IMPORT_LIMIT_BYTES: usize = 32 * 1024 * 1024;

/// The OpenAPI document, generated once at start-up (not once per worker).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    openapi::ApiDoc::openapi()
}

/// Largest push batch body (1,000 mutations of a few KiB each).
pub const SYNC_PUSH_LIMIT_BYTES: usize = 16 * 1024 * 1024;

/// `Accept-Encoding` (gzip, br, zstd) honoured on the pull and the JSON lists, which repeat
/// themselves and travel over 2G/3G. Scoped to those resources: photo bytes are already compressed
/// and tus must see its own bytes and offsets, so neither passes through it.
fn compressed() -> actix_web::middleware::Compress {
    actix_web::middleware::Compress::default()
}

/// Registers every route: `/api/v1/*`, operations endpoints, the OpenAPI document and its UI.
pub fn configure(cfg: &mut web::ServiceConfig, openapi: utoipa::openapi::OpenApi) {
    // Resources (not per-method services), so a wrong method on a known path answers 405.
    cfg.service(web::resource("/healthz").get(ops::healthz))
        .service(web::resource("/readyz").get(ops::readyz))
        .service(web::resource("/metrics").get(ops::metrics))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi))
        .service(
            web::scope("/api/v1")
                .service(web::resource("/auth/login").post(auth::login))
                .service(web::resource("/auth/refresh").post(auth::refresh))
                .service(web::resource("/auth/logout").post(auth::logout))
                .service(web::resource("/me").get(auth::me))
                .service(
                    web::resource("/org-units")
                        .get(org_units::list)
                        .post(org_units::create)
                        .wrap(compressed()),
                )
                .service(web::resource("/org-units/{id}").get(org_units::get_one))
                .service(web::resource("/org-units/{id}/rename").post(org_units::rename))
                .service(web::resource("/org-units/{id}/retire").post(org_units::retire))
                .service(web::resource("/org-units/{id}/move").post(org_units::move_place))
                .service(web::resource("/org-units/{id}/merge").post(org_units::merge))
                .service(
                    web::resource("/users")
                        .get(users::list)
                        .post(users::create)
                        .wrap(compressed()),
                )
                .service(web::resource("/users/{id}/disable").post(users::disable))
                .service(web::resource("/users/{id}/enable").post(users::enable))
                .service(web::resource("/users/{id}/roles").post(users::grant_role))
                .service(web::resource("/users/{id}/roles/revoke").post(users::revoke_role))
                .service(web::resource("/users/{id}/roles/move").post(users::move_role))
                .service(web::resource("/users/{id}/password").post(users::set_password))
                .service(
                    web::resource("/uploads")
                        .route(web::post().to(uploads::create))
                        .route(web::method(Method::OPTIONS).to(uploads::options)),
                )
                .service(
                    web::resource("/uploads/{id}")
                        .route(web::head().to(uploads::head))
                        .route(web::patch().to(uploads::patch))
                        .route(web::delete().to(uploads::terminate))
                        .route(web::method(Method::OPTIONS).to(uploads::options)),
                )
                .service(web::resource("/photos/{sha256}").get(photos::original))
                .service(web::resource("/photos/{sha256}/thumbnail").get(photos::thumbnail))
                .service(web::resource("/photos/{sha256}/meta").get(photos::meta))
                .service(
                    web::resource("/issue-categories")
                        .get(categories::list)
                        .post(categories::create),
                )
                .service(
                    web::resource("/category-aliases")
                        .get(category_aliases::list)
                        .post(category_aliases::create),
                )
                .service(web::resource("/category-aliases/{id}").delete(category_aliases::remove))
                .service(
                    web::resource("/issues")
                        .get(issues::list)
                        .post(issues::create)
                        .wrap(compressed()),
                )
                .service(
                    web::resource("/issues/import")
                        .app_data(web::PayloadConfig::new(IMPORT_LIMIT_BYTES))
                        .post(issues::import_list),
                )
                .service(
                    web::resource("/issues/import/preview")
                        .app_data(web::PayloadConfig::new(IMPORT_LIMIT_BYTES))
                        .post(issues::import_preview),
                )
                .service(web::resource("/issues/imports").get(issues::imports))
                .service(web::resource("/issues/imports/{id}/undo").post(issues::undo_import))
                .service(web::resource("/issues/{id}").get(issues::get_one))
                .service(web::resource("/issues/{id}/notice").get(issues::notice_page))
                .service(web::resource("/issues/{id}/evidence").get(issues::evidence))
                .service(web::resource("/issues/{id}/transitions").post(issues::transition))
                .service(
                    web::resource("/sync/push")
                        .app_data(
                            web::JsonConfig::default()
                                .limit(SYNC_PUSH_LIMIT_BYTES)
                                .error_handler(problem::json_error),
                        )
                        .post(sync::push_batch),
                )
                .service(
                    web::resource("/sync/pull")
                        .get(sync::pull_changes)
                        .wrap(compressed()),
                )
                .service(
                    web::resource("/sync/conflicts")
                        .get(sync::list_conflicts)
                        .wrap(compressed()),
                )
                .service(web::resource("/sync/conflicts/{id}/resolve").post(sync::resolve_conflict))
                .service(
                    web::resource("/devices")
                        .get(devices::list)
                        .wrap(compressed()),
                )
                .service(web::resource("/devices/{id}/revoke").post(devices::revoke))
                .service(
                    web::resource("/devices/{id}/release-backlog").post(devices::release_backlog),
                )
                .service(web::resource("/reports/ledger").get(reports::ledger_export))
                .service(web::resource("/reports/stats").get(reports::stats))
                .service(web::resource("/reports/bulletin").get(reports::bulletin))
                .service(web::resource("/reports/album").get(reports::album))
                .service(web::resource("/reports/rankings").get(reports::rankings))
                .service(
                    web::resource("/checklist-templates")
                        .get(templates::list)
                        .post(templates::create),
                )
                .service(web::resource("/checklist-templates/export").get(templates::export))
                .service(web::resource("/checklist-templates/import").post(templates::import))
                .service(
                    web::resource("/checklist-templates/{id}")
                        .get(templates::get_one)
                        .put(templates::update),
                )
                .service(
                    web::resource("/checklist-templates/{id}/archive").post(templates::archive),
                )
                .service(
                    web::resource("/checklist-templates/{id}/restore").post(templates::restore),
                )
                .service(
                    web::resource("/inspections")
                        .get(inspections::list)
                        .post(inspections::record)
                        .wrap(compressed()),
                )
                .service(web::resource("/inspections/{id}").get(inspections::get_one))
                .service(web::resource("/inspections/{id}/record").get(inspections::record_sheet))
                .service(
                    web::resource("/inspection-schedules")
                        .get(schedules::list)
                        .post(schedules::create),
                )
                .service(
                    web::resource("/inspection-schedules/occurrences").get(schedules::occurrences),
                )
                .service(
                    web::resource("/inspection-schedules/{id}/archive").post(schedules::archive),
                )
                .service(
                    web::resource("/deductions")
                        .get(schedules::list_deductions)
                        .post(schedules::create_deduction),
                ),
        );
}
