//! One pass over the generated OpenAPI document that makes it hold for every operation, whoever
//! wrote the handler's annotation: unique operationIds (method + path), errors declared as
//! `application/problem+json` with the `Problem` schema, and the error statuses the server's
//! shared layers answer on any operation (bad input, authentication, authorization, unknown ids,
//! bodies too large or of the wrong type, database unavailable with `Retry-After`).

use super::problem::PROBLEM_JSON;
use utoipa::Modify;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{Object, Ref, Type};
use utoipa::openapi::{Content, Header, OpenApi, RefOr};

pub struct ProblemResponses;

/// Name of the shared response in `components/responses`.
const PROBLEM_RESPONSE: &str = "Problem";
const UNAVAILABLE_RESPONSE: &str = "Unavailable";

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.responses.insert(
            PROBLEM_RESPONSE.into(),
            RefOr::T(problem_response("An error")),
        );
        components.responses.insert(
            UNAVAILABLE_RESPONSE.into(),
            RefOr::T(unavailable_response()),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                op.operation_id = Some(operation_id(method, path));
                fix_error_content(op);
                declare_common_errors(op, path, method);
            }
        }
    }
}

fn problem_content() -> Content {
    Content::new(Some(Ref::from_schema_name("Problem")))
}

fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, problem_content())
        .build()
}

fn unavailable_response() -> Response {
    let seconds = Object::with_type(Type::Integer);
    ResponseBuilder::new()
        .description("The database or photo storage is unavailable; retry after the given seconds")
        .header(
            "Retry-After",
            Header::new(RefOr::T(utoipa::openapi::Schema::Object(seconds))),
        )
        .content(PROBLEM_JSON, problem_content())
        .build()
}

fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("options", item.options.as_mut()),
        ("head", item.head.as_mut()),
        ("patch", item.patch.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}

/// `post /api/v1/issues/{id}/transition` → `post_issues_id_transition`: unique because method and
/// path are, and stable across handler renames.
pub fn operation_id(method: &str, path: &str) -> String {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let mut id = method.to_owned();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        id.push('_');
        id.extend(
            part.chars()
                .filter(|c| *c != '{' && *c != '}')
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
        );
    }
    id
}

/// Every 4xx/5xx the annotations declared leaves as problem+json with the `Problem` schema.
fn fix_error_content(op: &mut Operation) {
    for (status, response) in op.responses.responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5') || status == "default";
        if !is_error {
            continue;
        }
        if let RefOr::T(response) = response {
            response.content.shift_remove("application/json");
            response
                .content
                .insert(PROBLEM_JSON.into(), problem_content());
        }
    }
}

fn declare(op: &mut Operation, status: &str, response: &str) {
    op.responses
        .responses
        .entry(status.into())
        .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/responses/{response}"))));
}

/// The statuses the shared layers can answer on this operation, plus `default` for the rest
/// (each handler declares its own specific ones).
fn declare_common_errors(op: &mut Operation, path: &str, method: &str) {
    if path == "/healthz" {
        return; // answers 200 whatever the database does
    }
    let has_query = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter()
            .any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query))
    });
    let has_body = op.request_body.is_some() || matches!(method, "post" | "put" | "patch");
    if path.contains('{') || has_query || has_body {
        declare(op, "400", PROBLEM_RESPONSE);
    }
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        declare(op, "401", PROBLEM_RESPONSE);
        declare(op, "403", PROBLEM_RESPONSE);
    }
    if path.contains('{') {
        declare(op, "404", PROBLEM_RESPONSE);
    }
    if has_body {
        declare(op, "413", PROBLEM_RESPONSE);
        declare(op, "415", PROBLEM_RESPONSE);
    }
    if has_query || has_body {
        declare(op, "422", PROBLEM_RESPONSE);
    }
    declare(op, "503", UNAVAILABLE_RESPONSE);
    declare(op, "default", PROBLEM_RESPONSE);
}

#[cfg(test)]
mod tests {
    use super::operation_id;

    #[test]
    fn operation_ids_come_from_method_and_path() {
        assert_eq!(
            operation_id("post", "/api/v1/issues/{id}/transition"),
            "post_issues_id_transition"
        );
        assert_eq!(operation_id("get", "/readyz"), "get_readyz");
        assert_eq!(operation_id("get", "/api/v1/org-units"), "get_org_units");
    }
}
