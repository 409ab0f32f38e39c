//! The escalation ladder for overdue issues: 催办 reminder → 通报 bulletin → 约谈 admonition →
//! 问责 accountability, advanced by days overdue. Run by a scheduler inside every server; safe with
//! several replicas because each step is a version-guarded update (the second replica's update
//! matches nothing and records nothing).

use super::Clock;
use super::view::ESCALATION_NAMES_ZH;
use crate::db::models::IssueEventRow;
use crate::db::{Db, DbConnection, issues, write_transaction};
use crate::error::AppError;
use closeout_sync_protocol::lifecycle::MAX_ESCALATION;
use serde_json::json;

/// Days overdue at which each level is reached (index 0: level 1), ascending.
#[derive(Debug, Clone)]
pub struct EscalationPolicy {
    pub days: Vec<i64>,
}

impl EscalationPolicy {
    pub fn new(days: Vec<i64>) -> anyhow::Result<Self> {
        anyhow::ensure!(
            days.len() == MAX_ESCALATION as usize,
            "ledger.escalation_days needs {MAX_ESCALATION} values (催办, 通报, 约谈, 问责)"
        );
        anyhow::ensure!(
            days.windows(2).all(|w| w[0] < w[1]) && days[0] >= 1,
            "ledger.escalation_days must be ascending and start at 1 or more"
        );
        Ok(Self { days })
    }

    /// The level an issue this many days overdue should be at.
    pub fn level_for(&self, days_overdue: i64) -> i32 {
        self.days.iter().filter(|d| days_overdue >= **d).count() as i32
    }
}

/// One pass: raise every overdue issue to the level its delay calls for, one history event per
/// step. Returns the number of steps recorded by this call.
pub fn run_once(
    conn: &mut DbConnection,
    policy: &EscalationPolicy,
    clock: Clock,
) -> Result<usize, AppError> {
    let first = policy.days[0];
    let deadline_before = clock.today - chrono::Duration::days(first - 1);
    let mut steps = 0;
    let mut after = None;
    loop {
        let page = issues::escalation_candidates(
            conn,
            deadline_before,
            MAX_ESCALATION,
            after.clone(),
            500,
        )?;
        let Some(last) = page.last() else { break };
        after = Some((last.deadline, last.id.clone()));
        for row in page {
            let Some(deadline) = row.deadline else {
                continue;
            };
            let days_overdue = (clock.today - deadline).num_days();
            let target = policy.level_for(days_overdue);
            if target <= row.escalation_level {
                continue;
            }
            steps += write_transaction(conn, |conn| -> Result<usize, AppError> {
                let mut next = row.clone();
                next.escalation_level = target;
                next.version = row.version + target - row.escalation_level;
                next.updated_at = clock.now.into();
                if !issues::update_if_version(conn, &next, &row)? {
                    return Ok(0); // another replica (or a person) changed it first
                }
                for (i, level) in (row.escalation_level + 1..=target).enumerate() {
                    issues::insert_event(
                        conn,
                        &IssueEventRow {
                            data: json!({
                                "level": level,
                                "name_zh": ESCALATION_NAMES_ZH[level as usize],
                                "days_overdue": days_overdue,
                                "threshold_days": policy.days[level as usize - 1],
                            })
                            .to_string(),
                            ..IssueEventRow::new(
                                &row.id,
                                row.version + 1 + i as i32,
                                "escalate",
                                Some(row.state.as_str()),
                                &row.state,
                                None,
                                "system",
                                clock.now,
                            )
                        },
                    )?;
                }
                Ok((target - row.escalation_level) as usize)
            })?;
        }
    }
    Ok(steps)
}

/// The scheduler: runs [`run_once`] every `interval` until the task is dropped.
pub async fn schedule(
    db: Db,
    policy: EscalationPolicy,
    zone: crate::zone::OfficeZone,
    interval: std::time::Duration,
    escalations: prometheus::IntCounter,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let policy = policy.clone();
        let result = db
            .run(move |conn| run_once(conn, &policy, Clock::system(zone)))
            .await;
        match result {
            Ok(0) => {}
            Ok(steps) => {
                escalations.inc_by(u64::try_from(steps).unwrap_or(0));
                tracing::info!(steps, "escalated overdue issues");
            }
            Err(e) => tracing::warn!(error = %e, "escalation pass failed; will retry"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_thresholds() {
        let p = EscalationPolicy::new(vec![1, 7, 15, 30]).unwrap();
        let levels: Vec<i32> = [0, 1, 6, 7, 14, 15, 29, 30, 400]
            .iter()
            .map(|d| p.level_for(*d))
            .collect();
        assert_eq!(levels, vec![0, 1, 1, 2, 2, 3, 3, 4, 4]);
        assert!(EscalationPolicy::new(vec![1, 7, 7, 30]).is_err());
        assert!(EscalationPolicy::new(vec![1, 7]).is_err());
        assert!(EscalationPolicy::new(vec![0, 7, 15, 30]).is_err());
    }
}
