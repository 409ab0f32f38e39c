//! The OpenAPI document, generated from the handlers' annotations and served at `/openapi.json`;
//! Swagger UI (bundled in the binary, no internet needed) at `/docs/`.

use super::openapi_fixes::ProblemResponses;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Closeout API",
        description = "Field inspection and rectification with offline sync. Errors are application/problem+json with a stable `code` and `message_zh`."
    ),
    paths(
        super::auth::login,
        super::auth::refresh,
        super::auth::logout,
        super::auth::me,
        super::org_units::list,
        super::org_units::get_one,
        super::org_units::create,
        super::org_units::rename,
        super::org_units::retire,
        super::org_units::move_place,
        super::org_units::merge,
        super::users::list,
        super::users::create,
        super::users::disable,
        super::users::enable,
        super::users::grant_role,
        super::users::revoke_role,
        super::users::move_role,
        super::users::set_password,
        super::uploads::options,
        super::uploads::create,
        super::uploads::head,
        super::uploads::patch,
        super::uploads::terminate,
        super::photos::original,
        super::photos::thumbnail,
        super::photos::meta,
        super::categories::list,
        super::categories::create,
        super::category_aliases::list,
        super::category_aliases::create,
        super::category_aliases::remove,
        super::issues::create,
        super::issues::list,
        super::issues::get_one,
        super::issues::transition,
        super::issues::import_list,
        super::issues::import_preview,
        super::issues::imports,
        super::issues::undo_import,
        super::issues::notice_page,
        super::issues::evidence,
        super::sync::push_batch,
        super::sync::pull_changes,
        super::sync::list_conflicts,
        super::sync::resolve_conflict,
        super::devices::list,
        super::devices::revoke,
        super::devices::release_backlog,
        super::reports::ledger_export,
        super::reports::stats,
        super::reports::bulletin,
        super::reports::album,
        super::reports::rankings,
        super::templates::list,
        super::templates::create,
        super::templates::get_one,
        super::templates::update,
        super::templates::archive,
        super::templates::restore,
        super::templates::export,
        super::templates::import,
        super::inspections::record,
        super::inspections::list,
        super::inspections::get_one,
        super::schedules::create,
        super::schedules::list,
        super::schedules::archive,
        super::schedules::occurrences,
        super::schedules::create_deduction,
        super::schedules::list_deductions,
        super::ops::healthz,
        super::ops::readyz,
        super::ops::metrics,
        super::inspections::record_sheet,
    ),
    components(schemas(super::problem::Problem, crate::error::ErrorCode)),
    modifiers(&BearerAuth, &ProblemResponses),
    tags(
        (name = "auth", description = "Login, token refresh, logout, the caller"),
        (name = "places", description = "The place tree (org units)"),
        (name = "users", description = "People and their roles"),
        (name = "photos", description = "tus 1.0 resumable photo uploads; photos by SHA-256, thumbnails, EXIF facts"),
        (name = "issues", description = "The rectification ledger: issues, their lifecycle and history"),
        (name = "inspections", description = "Checklist templates (versioned), inspections, schedules, deductions"),
        (name = "sync", description = "Offline sync: push, pull, conflicts, devices"),
        (name = "reports", description = "Ledger exports, statistics, bulletins, before/after albums"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
