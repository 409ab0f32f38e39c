//! Identifiers: UUIDs stored as text (one schema for SQLite and PostgreSQL), one newtype per entity
//! so a user id can never be passed where a place id is expected.

use std::fmt;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord,
            diesel_derive_newtype::DieselNewType, serde::Serialize, serde::Deserialize,
            utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(String);

        impl $name {
            /// A fresh time-ordered id (UUIDv7).
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                // Hyphenated lower case: the one spelling stored, so text comparison is identity.
                Self(id.hyphenated().to_string())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A person who logs in.
    UserId
);
id_type!(
    /// A node of the place tree (province … grid).
    OrgUnitId
);
id_type!(
    /// One role held by one person on one subtree.
    RoleAssignmentId
);
id_type!(
    /// One refresh token (one link of a device's rotation chain).
    RefreshTokenId
);
id_type!(
    /// One login on one device: every rotation of its refresh token shares it.
    TokenFamilyId
);
id_type!(
    /// One tus upload (and, once complete, the attachment it became).
    UploadId
);
id_type!(
    /// An issue of the ledger (UUIDv7; a phone may make it offline).
    IssueId
);
id_type!(
    /// One step of an issue's history.
    IssueEventId
);
id_type!(
    /// A registered phone (one user's installation).
    DeviceId
);
id_type!(
    /// A sync conflict kept for supervisors.
    ConflictId
);
id_type!(
    /// A checklist template (the same id across its versions).
    TemplateId
);
id_type!(
    /// An inspection (督查), made on a phone.
    InspectionId
);
id_type!(
    /// A conflict between phones on an inspection.
    InspectionConflictId
);
id_type!(
    /// A cadence of inspections at a place.
    ScheduleId
);
id_type!(
    /// Points taken off a place's ranking (错报、漏报、瞒报).
    DeductionId
);
