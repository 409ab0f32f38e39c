//! HTTP: actix handlers, one module per resource. Thin: parse, authorize (via the `Authenticated`
//! extractor and `domain::access`), call a domain function, map errors to problem+json.

pub mod auth;
pub mod extract;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod org_units;
pub mod photos;
pub mod problem;
pub mod state;
pub mod uploads;
pub mod users;

use actix_web::http::Method;
use actix_web::web;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Registers every route: `/api/v1/*`, operations endpoints, the OpenAPI document and its UI.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Resources (not per-method services), so a wrong method on a known path answers 405.
    cfg.service(web::resource("/healthz").get(ops::healthz))
        .service(web::resource("/readyz").get(ops::readyz))
        .service(web::resource("/metrics").get(ops::metrics))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi::ApiDoc::openapi()))
        .service(
            web::scope("/api/v1")
                .service(web::resource("/auth/login").post(auth::login))
                .service(web::resource("/auth/refresh").post(auth::refresh))
                .service(web::resource("/auth/logout").post(auth::logout))
                .service(web::resource("/me").get(auth::me))
                .service(
                    web::resource("/org-units")
                        .get(org_units::list)
                        .post(org_units::create),
                )
                .service(web::resource("/org-units/{id}").get(org_units::get_one))
                .service(web::resource("/users").get(users::list).post(users::create))
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
                .service(web::resource("/photos/{sha256}/meta").get(photos::meta)),
        );
}
