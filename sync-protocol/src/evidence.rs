//! The close-out gate: when the photos of a submission are good enough for a supervisor to close
//! the issue (销号). The server computes each photo's evidence flags (it has the bytes and the
//! history); this rule, shared with phones so they can tell the supervisor before they try, says
//! what those flags allow.
//!
//! - An after-photo that has not arrived blocks `approve`, with no override: there is nothing to
//!   judge yet.
//! - A flag named in the office's policy blocks `approve` unless the supervisor gives an
//!   `override_reason`; the flags overridden are recorded in the history with the reason.
//! - Other flags are shown, never blocking.

use serde::{Deserialize, Serialize};

/// Every flag the evidence checks raise.
pub const FLAGS: [&str; 11] = [
    "pending",
    "no_exif",
    "exif_unreadable",
    "damaged",
    "far_from_issue",
    "taken_before_report",
    "taken_before_assignment",
    "clock_mismatch",
    "reused",
    "before_equals_after",
    "no_capture_time",
];

/// The flags that block close-out unless overridden, when the office sets nothing else: the ones
/// that say the after-photo may not show this rectification (taken elsewhere, taken before the
/// work was handed down, used on another issue, the before-photo again, a broken file). `no_exif`
/// and `clock_mismatch` are shown but do not block: phones and chat apps strip EXIF and clocks
/// drift far too often for them to decide on their own.
pub const DEFAULT_BLOCKING: [&str; 5] = [
    "far_from_issue",
    "taken_before_assignment",
    "reused",
    "before_equals_after",
    "damaged",
];

/// A set of flags (a policy's blocking flags), small enough to copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlagSet(u16);

impl FlagSet {
    /// The set of the named flags; `Err` names the first unknown one.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        let mut bits = 0u16;
        for name in names {
            let name = name.as_ref();
            let i = FLAGS
                .iter()
                .position(|f| *f == name)
                .ok_or_else(|| name.to_owned())?;
            bits |= 1 << i;
        }
        Ok(Self(bits))
    }

    /// [`DEFAULT_BLOCKING`].
    pub fn default_blocking() -> Self {
        Self::from_names(&DEFAULT_BLOCKING).unwrap_or_default()
    }

    pub fn contains(self, flag: &str) -> bool {
        FLAGS
            .iter()
            .position(|f| *f == flag)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }

    pub fn names(self) -> Vec<&'static str> {
        FLAGS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, f)| *f)
            .collect()
    }
}

/// One after-photo of the submission under review, as the checks found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewedPhoto<'a> {
    pub sha256: &'a str,
    pub arrived: bool,
    pub flags: Vec<&'a str>,
}

/// A flag on a photo that the policy makes blocking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockingFlag {
    pub sha256: String,
    pub code: String,
}

/// Why `approve` may not go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateRefusal {
    /// These after-photos have not reached the server; no override.
    Pending(Vec<String>),
    /// Blocking flags and no override reason.
    Flagged(Vec<BlockingFlag>),
}

/// Decides whether the submission may be approved: `Ok` with the blocking flags that the
/// override reason covers (empty when nothing needed overriding).
pub fn gate(
    photos: &[ReviewedPhoto<'_>],
    blocking: FlagSet,
    override_reason: Option<&str>,
) -> Result<Vec<BlockingFlag>, GateRefusal> {
    let pending: Vec<String> = photos
        .iter()
        .filter(|p| !p.arrived)
        .map(|p| p.sha256.to_owned())
        .collect();
    if !pending.is_empty() {
        return Err(GateRefusal::Pending(pending));
    }
    let raised: Vec<BlockingFlag> = photos
        .iter()
        .flat_map(|p| {
            p.flags
                .iter()
                .filter(|f| blocking.contains(f))
                .map(|f| BlockingFlag {
                    sha256: p.sha256.to_owned(),
                    code: (*f).to_owned(),
                })
        })
        .collect();
    let overridden = override_reason.is_some_and(|r| !r.trim().is_empty());
    if raised.is_empty() || overridden {
        Ok(raised)
    } else {
        Err(GateRefusal::Flagged(raised))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> FlagSet {
        FlagSet::default_blocking()
    }

    fn photo<'a>(sha: &'a str, arrived: bool, flags: &[&'a str]) -> ReviewedPhoto<'a> {
        ReviewedPhoto {
            sha256: sha,
            arrived,
            flags: flags.to_vec(),
        }
    }

    #[test]
    fn clean_photos_pass_without_a_reason() {
        let photos = [photo("a", true, &[]), photo("b", true, &["no_exif"])];
        assert_eq!(gate(&photos, policy(), None), Ok(vec![]));
    }

    #[test]
    fn a_pending_photo_blocks_even_with_a_reason() {
        let photos = [photo("a", true, &[]), photo("b", false, &["pending"])];
        assert_eq!(
            gate(&photos, policy(), Some("现场已核实")),
            Err(GateRefusal::Pending(vec!["b".into()]))
        );
    }

    #[test]
    fn a_blocking_flag_needs_a_reason_and_is_listed_when_overridden() {
        let photos = [photo("a", true, &["far_from_issue", "no_exif"])];
        let expected = vec![BlockingFlag {
            sha256: "a".into(),
            code: "far_from_issue".into(),
        }];
        assert_eq!(
            gate(&photos, policy(), None),
            Err(GateRefusal::Flagged(expected.clone()))
        );
        assert_eq!(
            gate(&photos, policy(), Some("   ")),
            Err(GateRefusal::Flagged(expected.clone()))
        );
        assert_eq!(gate(&photos, policy(), Some("已电话核实")), Ok(expected));
    }

    #[test]
    fn the_policy_decides_what_blocks() {
        let photos = [photo("a", true, &["no_exif"])];
        let strict = FlagSet::from_names(&["no_exif"]).unwrap();
        assert!(gate(&photos, strict, None).is_err());
        assert_eq!(gate(&photos, FlagSet::default(), None), Ok(vec![]));
    }

    #[test]
    fn flag_sets_know_their_names() {
        let mut names = FlagSet::default_blocking().names();
        let mut expected = DEFAULT_BLOCKING.to_vec();
        names.sort_unstable();
        expected.sort_unstable();
        assert_eq!(names, expected);
        assert_eq!(FlagSet::from_names(&["reusd"]), Err("reusd".to_owned()));
        assert!(!FlagSet::default_blocking().contains("no_exif"));
        assert!(!FlagSet::default_blocking().contains("nonsense"));
    }
}
