//! HTTP: actix handlers, one module per resource. Thin: parse, authorize (via the `Authenticated`
//! extractor and `domain::access`), call a domain function, map errors to problem+json.

pub mod auth;
pub mod extract;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod org_units;
pub mod problem;
pub mod state;
pub mod users;

use actix_web::web;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Registers every route: `/api/v1/*`, operations endpoints, the OpenAPI document and its UI.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi::ApiDoc::openapi()))
        .service(
            web::scope("/api/v1")
                .service(auth::login)
                .service(auth::refresh)
                .service(auth::logout)
                .service(auth::me)
                .service(org_units::list)
                .service(org_units::get_one)
                .service(org_units::create)
                .service(users::list)
                .service(users::create),
        );
}
