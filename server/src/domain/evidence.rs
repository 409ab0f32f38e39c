//! Evidence checks on an issue's photos, each a flag with its figures, for supervisors to weigh
//! before close-out: photos not yet arrived, no or broken EXIF, GPS far from the issue, a
//! before-photo taken well before the report, an after-photo taken before the assignment, the
//! phone's clock far from the camera's, and the same (or perceptually identical) photo used on
//! another issue or as both before and after.

use super::access::Caller;
use super::issues::can_see;
use crate::db::models::{IssueEventRow, IssueRow};
use crate::db::photos::{self as q, PhotoRow};
use crate::db::{DbConnection, issues};
use crate::error::{AppError, ErrorCode};
use crate::ids::IssueId;
use crate::media;
use chrono::{Duration, FixedOffset, NaiveDateTime};
use closeout_sync_protocol::evidence::{BlockingFlag, FlagSet, GateRefusal, ReviewedPhoto, gate};
use closeout_sync_protocol::geo::{LatLon, haversine_m};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Thresholds of the checks.
#[derive(Debug, Clone, Copy)]
pub struct EvidencePolicy {
    /// A photo's GPS farther than this from the issue's location is flagged.
    pub max_distance_m: f64,
    /// A before-photo taken more than this before the report is flagged.
    pub before_report_hours: i64,
    /// The phone's clock and the camera's differing by more than this is flagged.
    pub clock_hours: i64,
    /// The offices' time zone, for camera times written without a zone.
    pub zone: crate::zone::OfficeZone,
    /// Flags on after-photos that block `approve` unless overridden with a reason.
    pub blocking: FlagSet,
    /// Perceptual hashes at most this many bits apart are the same picture.
    pub near_duplicate_bits: u32,
}

impl Default for EvidencePolicy {
    fn default() -> Self {
        Self::from_settings(&crate::settings::Settings::default())
    }
}

impl EvidencePolicy {
    pub fn from_settings(s: &crate::settings::Settings) -> Self {
        Self {
            max_distance_m: s.evidence.max_distance_m,
            before_report_hours: s.evidence.before_report_hours,
            clock_hours: s.evidence.clock_hours,
            zone: s.ledger.zone(),
            // Checked when the settings were loaded.
            blocking: s
                .evidence
                .blocking()
                .unwrap_or_else(|_| FlagSet::default_blocking()),
            near_duplicate_bits: s.evidence.near_duplicate_bits,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EvidenceFlag {
    /// `pending`, `no_exif`, `exif_unreadable`, `damaged`, `far_from_issue`,
    /// `taken_before_report`, `taken_before_assignment`, `clock_mismatch`, `reused`,
    /// `before_equals_after`, `no_capture_time`.
    pub code: &'static str,
    pub message_zh: &'static str,
    #[schema(value_type = Object)]
    pub figures: Value,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PhotoCheck {
    pub sha256: String,
    /// `before` (the report), `after` (a submission) or `progress`.
    pub role: &'static str,
    /// The history step the photo came with.
    pub event_seq: i32,
    pub arrived: bool,
    pub flags: Vec<EvidenceFlag>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Evidence {
    pub issue_id: IssueId,
    pub photos: Vec<PhotoCheck>,
    /// How many photos carry each flag.
    pub flag_counts: BTreeMap<String, usize>,
}

fn flag(code: &'static str, message_zh: &'static str, figures: Value) -> EvidenceFlag {
    EvidenceFlag {
        code,
        message_zh,
        figures,
    }
}

fn role_of(event: &IssueEventRow) -> &'static str {
    match event.action.as_str() {
        "report" | "import" => "before",
        "submit" => "after",
        _ => "progress",
    }
}

/// The camera's time in UTC: its own offset when EXIF gave one, else the offices'.
fn taken_utc(photo: &PhotoRow, zone: crate::zone::OfficeZone) -> Option<NaiveDateTime> {
    let taken = photo.taken_at?;
    Some(
        match photo
            .taken_at_offset
            .as_deref()
            .and_then(|o| o.parse::<FixedOffset>().ok())
        {
            Some(o) => taken - Duration::seconds(i64::from(o.local_minus_utc())),
            None => zone.to_utc(taken),
        },
    )
}

fn hours(d: Duration) -> f64 {
    (d.num_minutes() as f64 / 60.0 * 10.0).round() / 10.0
}

/// A photo's perceptual hash as a number, if it carries enough information to be matched.
fn matchable(photo: &PhotoRow) -> Option<u64> {
    photo
        .phash
        .as_deref()
        .filter(|h| media::phash::informative(h))
        .and_then(media::phash::parse)
}

/// Other photos whose perceptual hash is within `max_bits` of `photo`'s, found through the
/// indexed hash bands (never a scan of every photo; `media::phash::band_radii` says which band
/// values are read, docs/photos.md how).
pub fn near_duplicates(
    conn: &mut DbConnection,
    photo: &PhotoRow,
    max_bits: u32,
) -> Result<Vec<String>, AppError> {
    let Some(mine) = matchable(photo) else {
        return Ok(Vec::new());
    };
    let candidates = media::phash::band_candidates(mine, max_bits);
    let mut near: Vec<u64> = q::phashes_sharing_a_band(conn, &candidates)?
        .into_iter()
        .map(media::phash::from_stored)
        .filter(|h| media::phash::distance(mine, *h) <= max_bits)
        .collect();
    near.sort_unstable();
    near.dedup();
    let near: Vec<String> = near
        .into_iter()
        .map(|h| format!("{h:016x}"))
        .filter(|h| media::phash::informative(h))
        .collect();
    Ok(q::photos_with_phashes(conn, &near)?
        .into_iter()
        .filter(|sha| *sha != photo.sha256)
        .collect())
}

/// Issues (other than `this`) a photo was uploaded for.
fn other_issues(
    conn: &mut DbConnection,
    sha: &str,
    this: &IssueId,
) -> Result<BTreeSet<String>, AppError> {
    // Uploaded for another issue, or named in another issue's history (an upload without an
    // owner, named by two reports, is reused all the same).
    let named = issues::issues_naming_photo(conn, sha)?
        .into_iter()
        .map(|i| i.as_str().to_owned());
    Ok(q::attachments_of(conn, sha)?
        .into_iter()
        .filter(|a| a.owner_kind.as_deref() == Some("issue"))
        .filter_map(|a| a.owner_id)
        .chain(named)
        .filter(|owner| owner != this.as_str())
        .collect())
}

pub fn evaluate(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &IssueId,
    policy: EvidencePolicy,
) -> Result<Evidence, AppError> {
    let issue = issues::find(conn, id)?
        .filter(|i| can_see(caller, i))
        .ok_or_else(|| AppError::not_found("issue"))?;
    evaluate_issue(conn, &issue, policy)
}

/// The close-out gate for `issue` (in `submitted`): the after-photos of its latest submission
/// judged by the policy. `Ok` carries the blocking flags the override reason covers.
pub fn gate_approval(
    conn: &mut DbConnection,
    issue: &IssueRow,
    policy: EvidencePolicy,
    override_reason: Option<&str>,
) -> Result<Vec<BlockingFlag>, AppError> {
    let evidence = evaluate_issue(conn, issue, policy)?;
    let latest = evidence
        .photos
        .iter()
        .filter(|p| p.role == "after")
        .map(|p| p.event_seq)
        .max();
    let under_review: Vec<ReviewedPhoto<'_>> = evidence
        .photos
        .iter()
        .filter(|p| Some(p.event_seq) == latest && p.role == "after")
        .map(|p| ReviewedPhoto {
            sha256: &p.sha256,
            arrived: p.arrived,
            flags: p.flags.iter().map(|f| f.code).collect(),
        })
        .collect();
    gate(&under_review, policy.blocking, override_reason).map_err(|refusal| match refusal {
        GateRefusal::Pending(photos) => AppError::new(
            ErrorCode::PhotosPending,
            format!(
                "{} after-photo(s) of this submission have not finished uploading",
                photos.len()
            ),
        )
        .zh(format!("本次提交的 {} 张整改后照片尚未上传完成，暂不能销号", photos.len()))
        .with_extra(json!({ "pending": photos })),
        GateRefusal::Flagged(flags) => {
            let codes: BTreeSet<&str> = flags.iter().map(|f| f.code.as_str()).collect();
            let codes = codes.into_iter().collect::<Vec<_>>().join(", ");
            AppError::new(
                ErrorCode::EvidenceFlagged,
                format!(
                    "the after-photos raise {codes}; approve with an override_reason to close out anyway"
                ),
            )
            .zh(format!("整改后照片存在疑点（{codes}），如确认销号须填写 override_reason 说明理由"))
            .with_extra(json!({ "flags": flags }))
        }
    })
}

/// Every photo in `issue`'s history with its flags (no access check: the caller did it).
pub fn evaluate_issue(
    conn: &mut DbConnection,
    issue: &IssueRow,
    policy: EvidencePolicy,
) -> Result<Evidence, AppError> {
    let id = &issue.id;
    let events = issues::events_of(conn, id)?;
    let mut photos = Vec::new();
    // (role, sha256, matchable perceptual hash) of every arrived photo, for before_equals_after.
    let mut pictures: Vec<(&'static str, String, Option<u64>)> = Vec::new();
    for event in &events {
        let shas: Vec<String> = serde_json::from_str(&event.photos).map_err(AppError::internal)?;
        for sha in shas {
            let role = role_of(event);
            let row = q::find_photo(conn, &sha)?;
            let mut flags = Vec::new();
            match &row {
                None => flags.push(flag("pending", "照片尚未上传到服务器", json!({}))),
                Some(photo) => {
                    pictures.push((role, sha.clone(), matchable(photo)));
                    let stored: Vec<String> =
                        serde_json::from_str(&photo.flags).unwrap_or_default();
                    for (code, zh) in [
                        ("no_exif", "照片无 EXIF 信息（可能从相册选取）"),
                        ("exif_unreadable", "照片 EXIF 信息损坏"),
                        ("damaged", "照片数据损坏"),
                    ] {
                        if stored.iter().any(|f| f == code) {
                            flags.push(flag(code, zh, json!({})));
                        }
                    }
                    if let (Some(plat), Some(plon), Some(ilat), Some(ilon)) =
                        (photo.gps_lat, photo.gps_lon, issue.lat, issue.lon)
                    {
                        let d = haversine_m(
                            LatLon {
                                lat: plat,
                                lon: plon,
                            },
                            LatLon {
                                lat: ilat,
                                lon: ilon,
                            },
                        );
                        if d > policy.max_distance_m {
                            flags.push(flag("far_from_issue", "拍摄位置与问题位置相距过远", json!({ "distance_m": d.round(), "limit_m": policy.max_distance_m })));
                        }
                    }
                    if role == "after" && photo.taken_at.is_none() {
                        // Neither EXIF nor XMP says when it was taken: the time checks cannot
                        // judge it, which the supervisor should know rather than see it pass.
                        flags.push(flag(
                            "no_capture_time",
                            "整改后照片没有拍摄时间，无法核对是否拍摄于交办之后",
                            json!({}),
                        ));
                    }
                    if let Some(taken) = taken_utc(photo, policy.zone) {
                        let reported = event.device_time.unwrap_or(event.server_time).0;
                        if role == "before"
                            && taken < reported - Duration::hours(policy.before_report_hours)
                        {
                            flags.push(flag(
                                "taken_before_report",
                                "整改前照片拍摄时间远早于上报时间",
                                json!({ "hours_before": hours(reported - taken) }),
                            ));
                        }
                        if let (true, Some(assigned)) =
                            (role == "after", issue.assigned_at.map(|a| a.0))
                            && taken < assigned
                        {
                            flags.push(flag(
                                "taken_before_assignment",
                                "整改后照片拍摄于交办之前",
                                json!({ "hours_before": hours(assigned - taken) }),
                            ));
                        }
                        if let Some(device) = event.device_time.map(|d| d.0) {
                            let gap = if device > taken {
                                device - taken
                            } else {
                                taken - device
                            };
                            if gap > Duration::hours(policy.clock_hours) {
                                flags.push(flag(
                                    "clock_mismatch",
                                    "手机时间与相机时间相差过大",
                                    json!({ "hours": hours(gap) }),
                                ));
                            }
                        }
                    }
                    let mut others = other_issues(conn, &sha, id)?;
                    for twin in near_duplicates(conn, photo, policy.near_duplicate_bits)? {
                        others.extend(other_issues(conn, &twin, id)?);
                    }
                    if !others.is_empty() {
                        flags.push(flag(
                            "reused",
                            "同一或几乎相同的照片已用于其他问题",
                            json!({ "issues": others }),
                        ));
                    }
                }
            }
            photos.push(PhotoCheck {
                arrived: row.is_some(),
                sha256: sha,
                role,
                event_seq: event.seq,
                flags,
            });
        }
    }
    // The same picture (same bytes, or hashes within the threshold) as both before and after.
    for check in photos.iter_mut() {
        let opposite = match check.role {
            "before" => "after",
            "after" => "before",
            _ => continue,
        };
        let Some((_, _, mine)) = pictures.iter().find(|(_, s, _)| *s == check.sha256) else {
            continue;
        };
        let both = pictures.iter().any(|(role, sha, theirs)| {
            *role == opposite
                && (*sha == check.sha256
                    || matches!((mine, theirs), (Some(a), Some(b))
                        if media::phash::distance(*a, *b) <= policy.near_duplicate_bits))
        });
        if both {
            check.flags.push(flag(
                "before_equals_after",
                "整改前后使用了相同的照片",
                json!({}),
            ));
        }
    }
    let mut flag_counts = BTreeMap::new();
    for check in &photos {
        for f in &check.flags {
            *flag_counts.entry(f.code.to_owned()).or_insert(0) += 1;
        }
    }
    Ok(Evidence {
        issue_id: issue.id.clone(),
        photos,
        flag_counts,
    })
}
