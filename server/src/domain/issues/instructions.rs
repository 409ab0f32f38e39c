//! 领导批示: instructions are the `instruct` steps of an issue's history (one truth, insert-only),
//! read back as a list for the issue page, the notice and the phones' pulls.

use crate::db::models::IssueEventRow;
use crate::db::{DbConnection, issues, users};
use crate::error::AppError;
use crate::ids::{IssueId, UserId};
use closeout_sync_protocol::issue::Instruction;
use std::collections::HashMap;

/// The instructions of these issues, oldest first per issue; issues with none are absent.
pub fn of_issues(
    conn: &mut DbConnection,
    ids: &[IssueId],
) -> Result<HashMap<IssueId, Vec<Instruction>>, AppError> {
    let events = issues::instruction_events(conn, ids)?;
    let mut names: HashMap<UserId, String> = HashMap::new();
    let mut out: HashMap<IssueId, Vec<Instruction>> = HashMap::new();
    for event in events {
        let author_name = match &event.actor_id {
            Some(id) => match names.get(id) {
                Some(name) => name.clone(),
                None => {
                    let name = users::find(conn, id)?
                        .map(|u| u.display_name)
                        .unwrap_or_default();
                    names.insert(id.clone(), name.clone());
                    name
                }
            },
            None => String::new(),
        };
        out.entry(event.issue_id.clone())
            .or_default()
            .push(instruction(&event, author_name));
    }
    Ok(out)
}

/// One `instruct` event as an instruction.
pub fn instruction(event: &IssueEventRow, author_name: String) -> Instruction {
    Instruction {
        text: event.comment.clone().unwrap_or_default(),
        author_id: event
            .actor_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        author_name,
        at: event.server_time.and_utc(),
    }
}
