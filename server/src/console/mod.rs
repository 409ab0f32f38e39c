//! The supervision office's web console (督查办工作台): server-rendered Chinese pages at `/console/`
//! (login at `/login`), askama templates in `server/templates/`, htmx vendored for the few places
//! a whole page would be clumsy. Views call the same domain functions as the JSON API; no rule
//! lives here or in a template. Sessions are cookies backed by database rows (`console_sessions`);
//! every form carries a CSRF token; every response carries strict security headers. The JSON API
//! stays bearer-only. See docs/console.md.

pub mod assets;
pub mod cookies;
pub mod csrf;
pub mod errors;
pub mod map;
pub mod page;
pub mod session;
pub mod views;

use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, web};

/// No inline script or style anywhere (so none is allowed), nothing from another origin, and the
/// console may not be framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The headers every console response carries (added unless a handler set its own).
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), payment=()",
        ))
        .add(("Cache-Control", "no-store"))
}

/// Registers `/`, `/login`, `/logout` and `/console/*`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use views::*;
    cfg.service(web::resource("/").get(|| async { page::see_other("/console/") }))
        .service(
            web::resource("/login")
                .wrap(security_headers())
                .app_data(web::FormConfig::default().error_handler(form_error))
                .get(login::form)
                .post(login::submit),
        )
        .service(
            web::resource("/logout")
                .wrap(security_headers())
                .app_data(web::FormConfig::default().error_handler(form_error))
                .post(login::logout),
        )
        .service(
            web::scope("/console")
                .wrap(security_headers())
                .app_data(web::FormConfig::default().error_handler(form_error))
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .service(web::resource("/assets/{file}").get(assets::serve))
                .service(web::resource("/").get(dashboard::page))
                .service(web::resource("").get(|| async { page::see_other("/console/") }))
                .service(web::resource("/issues").get(ledger::page))
                .service(web::resource("/issues/{id}").get(issue::page))
                .service(web::resource("/issues/{id}/act").post(issue::act))
                .service(web::resource("/issues/{id}/sheet").get(sheet::page))
                .service(web::resource("/sheet.css").get(sheet::colours))
                .service(web::resource("/queue").get(queue::page))
                .service(
                    web::resource("/import")
                        .get(import::form)
                        .post(import::upload),
                )
                .service(web::resource("/issues/{id}/notice").get(documents::notice))
                .service(web::resource("/sync").get(sync::page))
                .service(web::resource("/sync/conflicts/{id}/resolve").post(sync::resolve))
                .service(web::resource("/sync/devices/{id}/release").post(sync::release))
                .service(web::resource("/inspections").get(inspections::list))
                .service(web::resource("/inspections/{id}").get(inspections::detail))
                .service(web::resource("/inspections/{id}/record").get(documents::record))
                .service(web::resource("/rankings").get(rankings::rankings))
                .service(web::resource("/schedules/missed").get(rankings::missed))
                .service(web::resource("/documents").get(documents::index))
                .service(web::resource("/documents/bulletin").get(documents::bulletin))
                .service(web::resource("/documents/album").get(documents::album))
                .service(
                    web::resource("/admin/users")
                        .get(admin_users::page)
                        .post(admin_users::create),
                )
                .service(web::resource("/admin/users/{id}/active").post(admin_users::set_active))
                .service(web::resource("/admin/users/{id}/roles").post(admin_users::roles))
                .service(web::resource("/admin/users/{id}/password").post(admin_users::password))
                .service(
                    web::resource("/admin/places")
                        .get(admin_places::page)
                        .post(admin_places::create),
                )
                .service(web::resource("/admin/places/move").post(admin_places::move_place))
                .service(web::resource("/admin/places/merge").post(admin_places::merge))
                .service(web::resource("/admin/places/{id}/rename").post(admin_places::rename))
                .service(web::resource("/admin/places/{id}/retire").post(admin_places::retire))
                .service(web::resource("/photos/{sha256}").get(photos::original))
                .service(web::resource("/photos/{sha256}/thumbnail").get(photos::thumbnail))
                .default_service(web::to(not_found)),
        );
}

/// A form the console cannot read: an HTML page, not actix's plain text.
fn form_error(
    e: actix_web::error::UrlencodedError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    errors::ConsoleError::App(
        crate::AppError::new(crate::ErrorCode::BadRequest, format!("form: {e}"))
            .zh("表单内容无法读取"),
    )
    .into()
}

fn query_error(
    e: actix_web::error::QueryPayloadError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    errors::ConsoleError::App(
        crate::AppError::new(crate::ErrorCode::InvalidQuery, format!("query: {e}"))
            .zh("查询参数无效"),
    )
    .into()
}

async fn not_found() -> Result<HttpResponse, errors::ConsoleError> {
    Err(errors::ConsoleError::App(crate::AppError::new(
        crate::ErrorCode::RouteNotFound,
        "no such console page",
    )))
}
