//! What the caller may do with an issue now: the lifecycle's `available` judged with the caller's
//! roles for this issue and its facts, exactly as a transition would be.

use super::{can_see, roles_for};
use crate::db::{DbConnection, issues};
use crate::domain::access::Caller;
use crate::error::AppError;
use crate::ids::IssueId;
use closeout_sync_protocol::lifecycle::{self, Facts};
use closeout_sync_protocol::{ActionKind, IssueState};

pub fn available(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &IssueId,
) -> Result<Vec<ActionKind>, AppError> {
    let row = issues::find(conn, id)?.ok_or_else(|| AppError::not_found("issue"))?;
    if !can_see(caller, &row) {
        return Err(AppError::not_found("issue"));
    }
    let state = IssueState::parse(&row.state).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!("stored state `{}` is not known", row.state))
    })?;
    let facts = Facts {
        state,
        extension_pending: row.extension_deadline.is_some(),
        escalation_level: row.escalation_level,
    };
    Ok(lifecycle::available(&facts, &roles_for(caller, &row)))
}
