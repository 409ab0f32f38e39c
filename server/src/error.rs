//! The one error type of the server. Policy (as in crates.io): `anyhow` at start-up and in the CLI;
//! everything that can reach a client is an [`AppError`] with a stable [`ErrorCode`]. The HTTP
//! mapping (problem+json) lives in `api::problem`; this module knows no HTTP framework.

use serde::Serialize;
use std::fmt;

/// Stable, snake_case codes that clients branch on. Never rename one; add new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // Malformed requests
    MalformedJson,
    InvalidField,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidQuery,
    InvalidId,
    RouteNotFound,
    MethodNotAllowed,
    BadRequest,
    // Authentication
    Unauthenticated,
    TokenMalformed,
    TokenExpired,
    TokenSignatureInvalid,
    TokenAlgorithmNotAllowed,
    TokenUnknownKey,
    InvalidCredentials,
    AccountDisabled,
    TooManyLoginAttempts,
    RefreshTokenInvalid,
    RefreshTokenExpired,
    RefreshTokenReused,
    RefreshTokenRevoked,
    DeviceMismatch,
    SessionRevoked,
    // Authorization and state
    Forbidden,
    NotFound,
    UsernameTaken,
    OrgUnitCodeTaken,
    PlaceRetired,
    InvalidPlaceChange,
    CategoryAliasTaken,
    InvalidOrgLevel,
    DuplicateRoleAssignment,
    ImportRejected,
    // Photo uploads (tus) and photos
    TusVersionUnsupported,
    UploadOffsetMismatch,
    UploadBusy,
    ChecksumMismatch,
    ChecksumAlgorithmUnsupported,
    UploadLengthExceeded,
    PhotoTooLarge,
    UploadQuotaExceeded,
    Sha256Mismatch,
    NotAnImage,
    ImageTooLarge,
    ImageUndecodable,
    StorageUnavailable,
    UnsupportedProtocol,
    SequenceReused,
    MalformedMutation,
    DeviceRevoked,
    NotAssigned,
    Conflict,
    EscalationAtTop,
    ExtensionAlreadyPending,
    NoPendingExtension,
    IssueIdTaken,
    ConcurrentUpdate,
    InvalidTransition,
    PhotosPending,
    EvidenceFlagged,
    // Inspections
    InspectionIdTaken,
    TemplateArchived,
    TemplateVersionUnknown,
    // Handed-down lists
    ImportAlreadyDone,
    ImportNotUndoable,
    // Server side
    DatabaseUnavailable,
    Internal,
    // Bad text and pushed mutations judged one by one (issue 13)
    ControlCharacter,
    InvalidDeviceTime,
    SequenceGapTooLarge,
    DiskFull,
    // Uploads (issue 14)
    UploadEmpty,
    UploadBodyTimeout,
    // Signed photo links (issue 14.14)
    PhotoLinkInvalid,
    PhotoLinkExpired,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        // serde's name, without allocating a JSON string
        match self {
            Self::MalformedJson => "malformed_json",
            Self::InvalidField => "invalid_field",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::InvalidQuery => "invalid_query",
            Self::InvalidId => "invalid_id",
            Self::RouteNotFound => "route_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::BadRequest => "bad_request",
            Self::Unauthenticated => "unauthenticated",
            Self::TokenMalformed => "token_malformed",
            Self::TokenExpired => "token_expired",
            Self::TokenSignatureInvalid => "token_signature_invalid",
            Self::TokenAlgorithmNotAllowed => "token_algorithm_not_allowed",
            Self::TokenUnknownKey => "token_unknown_key",
            Self::InvalidCredentials => "invalid_credentials",
            Self::AccountDisabled => "account_disabled",
            Self::TooManyLoginAttempts => "too_many_login_attempts",
            Self::RefreshTokenInvalid => "refresh_token_invalid",
            Self::RefreshTokenExpired => "refresh_token_expired",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::RefreshTokenRevoked => "refresh_token_revoked",
            Self::DeviceMismatch => "device_mismatch",
            Self::SessionRevoked => "session_revoked",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::UsernameTaken => "username_taken",
            Self::OrgUnitCodeTaken => "org_unit_code_taken",
            Self::PlaceRetired => "place_retired",
            Self::InvalidPlaceChange => "invalid_place_change",
            Self::CategoryAliasTaken => "category_alias_taken",
            Self::InvalidOrgLevel => "invalid_org_level",
            Self::DuplicateRoleAssignment => "duplicate_role_assignment",
            Self::ImportRejected => "import_rejected",
            Self::TusVersionUnsupported => "tus_version_unsupported",
            Self::UploadOffsetMismatch => "upload_offset_mismatch",
            Self::UploadBusy => "upload_busy",
            Self::ChecksumMismatch => "checksum_mismatch",
            Self::ChecksumAlgorithmUnsupported => "checksum_algorithm_unsupported",
            Self::UploadLengthExceeded => "upload_length_exceeded",
            Self::PhotoTooLarge => "photo_too_large",
            Self::UploadQuotaExceeded => "upload_quota_exceeded",
            Self::Sha256Mismatch => "sha256_mismatch",
            Self::NotAnImage => "not_an_image",
            Self::ImageTooLarge => "image_too_large",
            Self::ImageUndecodable => "image_undecodable",
            Self::StorageUnavailable => "storage_unavailable",
            Self::UnsupportedProtocol => "unsupported_protocol",
            Self::SequenceReused => "sequence_reused",
            Self::MalformedMutation => "malformed_mutation",
            Self::DeviceRevoked => "device_revoked",
            Self::NotAssigned => "not_assigned",
            Self::Conflict => "conflict",
            Self::EscalationAtTop => "escalation_at_top",
            Self::ExtensionAlreadyPending => "extension_already_pending",
            Self::NoPendingExtension => "no_pending_extension",
            Self::IssueIdTaken => "issue_id_taken",
            Self::ConcurrentUpdate => "concurrent_update",
            Self::InvalidTransition => "invalid_transition",
            Self::PhotosPending => "photos_pending",
            Self::EvidenceFlagged => "evidence_flagged",
            Self::InspectionIdTaken => "inspection_id_taken",
            Self::TemplateArchived => "template_archived",
            Self::TemplateVersionUnknown => "template_version_unknown",
            Self::ImportAlreadyDone => "import_already_done",
            Self::ImportNotUndoable => "import_not_undoable",
            Self::DatabaseUnavailable => "database_unavailable",
            Self::Internal => "internal",
            Self::ControlCharacter => "control_character",
            Self::InvalidDeviceTime => "invalid_device_time",
            Self::SequenceGapTooLarge => "sequence_gap_too_large",
            Self::DiskFull => "disk_full",
            Self::UploadEmpty => "upload_empty",
            Self::UploadBodyTimeout => "upload_body_timeout",
            Self::PhotoLinkInvalid => "photo_link_invalid",
            Self::PhotoLinkExpired => "photo_link_expired",
        }
    }

    /// The HTTP status this code is always sent with.
    pub fn status(self) -> u16 {
        match self {
            Self::MalformedJson
            | Self::InvalidQuery
            | Self::InvalidId
            | Self::BadRequest
            | Self::UnsupportedProtocol => 400,
            Self::InvalidField
            | Self::InvalidOrgLevel
            | Self::ImportRejected
            | Self::MalformedMutation => 422,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::RouteNotFound | Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Unauthenticated
            | Self::TokenMalformed
            | Self::TokenExpired
            | Self::TokenSignatureInvalid
            | Self::TokenAlgorithmNotAllowed
            | Self::TokenUnknownKey
            | Self::InvalidCredentials
            | Self::RefreshTokenInvalid
            | Self::RefreshTokenExpired
            | Self::RefreshTokenReused
            | Self::RefreshTokenRevoked
            | Self::DeviceMismatch
            | Self::SessionRevoked => 401,
            Self::AccountDisabled | Self::Forbidden | Self::DeviceRevoked => 403,
            Self::TooManyLoginAttempts => 429,
            Self::UsernameTaken
            | Self::OrgUnitCodeTaken
            | Self::PlaceRetired
            | Self::InvalidPlaceChange
            | Self::CategoryAliasTaken
            | Self::DuplicateRoleAssignment
            | Self::InvalidTransition
            | Self::PhotosPending
            | Self::EvidenceFlagged
            | Self::ConcurrentUpdate
            | Self::IssueIdTaken
            | Self::NoPendingExtension
            | Self::ExtensionAlreadyPending
            | Self::EscalationAtTop
            | Self::Conflict
            | Self::NotAssigned
            | Self::SequenceReused
            | Self::InspectionIdTaken
            | Self::TemplateArchived => 409,
            Self::TemplateVersionUnknown => 422,
            Self::ImportAlreadyDone | Self::ImportNotUndoable => 409,
            Self::TusVersionUnsupported => 412,
            Self::UploadOffsetMismatch => 409,
            Self::UploadBusy => 423,
            Self::ChecksumMismatch => 460,
            Self::ChecksumAlgorithmUnsupported => 400,
            Self::UploadLengthExceeded => 413,
            Self::PhotoTooLarge => 413,
            Self::UploadQuotaExceeded => 413,
            Self::Sha256Mismatch => 422,
            Self::NotAnImage => 415,
            Self::ImageTooLarge => 422,
            Self::ImageUndecodable => 422,
            Self::StorageUnavailable => 503,
            Self::DatabaseUnavailable => 503,
            Self::Internal => 500,
            Self::ControlCharacter | Self::InvalidDeviceTime => 422,
            Self::SequenceGapTooLarge => 409,
            Self::DiskFull => 507,
            Self::UploadEmpty => 400,
            Self::UploadBodyTimeout => 408,
            Self::PhotoLinkInvalid => 403,
            Self::PhotoLinkExpired => 403,
        }
    }

    /// A short English title (the problem's `title`).
    pub fn title(self) -> &'static str {
        match self {
            Self::MalformedJson => "The request body is not valid JSON",
            Self::InvalidField => "A field is missing, has the wrong type or is not allowed",
            Self::PayloadTooLarge => "The request body is too large",
            Self::UnsupportedMediaType => "Unsupported content type",
            Self::InvalidQuery => "Invalid query parameters",
            Self::InvalidId => "An identifier in the path is not valid",
            Self::RouteNotFound => "No such endpoint",
            Self::MethodNotAllowed => "Method not allowed on this endpoint",
            Self::BadRequest => "Bad request",
            Self::Unauthenticated => "Authentication required",
            Self::TokenMalformed => "The access token is malformed",
            Self::TokenExpired => "The access token has expired",
            Self::TokenSignatureInvalid => "The access token signature is invalid",
            Self::TokenAlgorithmNotAllowed => "The access token uses a forbidden algorithm",
            Self::TokenUnknownKey => "The access token was signed with an unknown key",
            Self::InvalidCredentials => "Wrong username or password",
            Self::AccountDisabled => "The account is disabled",
            Self::TooManyLoginAttempts => "Too many login attempts",
            Self::RefreshTokenInvalid => "The refresh token is not valid",
            Self::RefreshTokenExpired => "The refresh token has expired",
            Self::RefreshTokenReused => {
                "The refresh token was already used; the device's session is revoked"
            }
            Self::RefreshTokenRevoked => "The refresh token has been revoked",
            Self::DeviceMismatch => "The refresh token belongs to another device",
            Self::SessionRevoked => "The session was logged out or revoked",
            Self::Forbidden => "Your roles do not allow this here",
            Self::NotFound => "Not found",
            Self::UsernameTaken => "The username is already taken",
            Self::OrgUnitCodeTaken => "The place code is already used",
            Self::PlaceRetired => "The place has been retired",
            Self::InvalidPlaceChange => "The place cannot be moved or merged there",
            Self::CategoryAliasTaken => "This wording is already mapped to a category here",
            Self::InvalidOrgLevel => "The place level does not fit under its parent",
            Self::DuplicateRoleAssignment => "The person already holds this role here",
            Self::ImportRejected => "The import was rejected; nothing was written",
            Self::TusVersionUnsupported => "This server speaks tus 1.0.0 only",
            Self::UploadOffsetMismatch => "Upload-Offset does not match the bytes received",
            Self::UploadBusy => "Another request is writing to this upload",
            Self::ChecksumMismatch => "The chunk does not match its Upload-Checksum",
            Self::ChecksumAlgorithmUnsupported => "Only sha256 checksums are supported",
            Self::UploadLengthExceeded => "The data goes past the declared Upload-Length",
            Self::PhotoTooLarge => "The photo is larger than allowed",
            Self::UploadQuotaExceeded => "Too many bytes in unfinished uploads",
            Self::Sha256Mismatch => "The bytes do not match the declared SHA-256",
            Self::NotAnImage => "The file is not a JPEG, PNG, WebP or HEIC image",
            Self::ImageTooLarge => "The image has too many pixels",
            Self::ImageUndecodable => "The image cannot be decoded",
            Self::StorageUnavailable => "The photo storage is unavailable",
            Self::UnsupportedProtocol => "Unsupported sync protocol version",
            Self::SequenceReused => "The sequence number was already used by another mutation",
            Self::MalformedMutation => "The mutation is not one this server understands",
            Self::DeviceRevoked => "This device has been revoked",
            Self::NotAssigned => "The issue has not been assigned yet",
            Self::Conflict => "It already exists",
            Self::EscalationAtTop => "The issue is already at the top of the escalation ladder",
            Self::ExtensionAlreadyPending => "An extension request is already pending",
            Self::NoPendingExtension => "There is no pending extension request",
            Self::IssueIdTaken => "An issue with this id already exists with different content",
            Self::ConcurrentUpdate => {
                "The issue was changed by someone else at the same moment; reload and retry"
            }
            Self::InvalidTransition => "The action is not possible in the issue's current state",
            Self::PhotosPending => "Photos this action relies on have not finished uploading",
            Self::EvidenceFlagged => {
                "The evidence checks flag the after-photos; give an override_reason to close out"
            }
            Self::InspectionIdTaken => {
                "An inspection with this id exists for another template or place"
            }
            Self::TemplateArchived => "The checklist template is archived",
            Self::TemplateVersionUnknown => "The checklist template has no such version",
            Self::ImportAlreadyDone => "This file was imported before; nothing was imported again",
            Self::ImportNotUndoable => "Issues of this import have moved on; it cannot be undone",
            Self::DatabaseUnavailable => "The database is unavailable",
            Self::Internal => "Internal server error",
            Self::ControlCharacter => {
                "A text field holds a control character (NUL, escape, …); only tab, LF and CR are allowed"
            }
            Self::InvalidDeviceTime => {
                "device_time must be an RFC 3339 time with a zone, e.g. 2026-11-20T08:00:00+08:00"
            }
            Self::SequenceGapTooLarge => {
                "seq is too far ahead of the device's acknowledged sequence number"
            }
            Self::DiskFull => "The server's disk is full; nothing was written",
            Self::UploadEmpty => "An upload must have at least one byte",
            Self::UploadBodyTimeout => "No byte of the request body arrived in time",
            Self::PhotoLinkInvalid => "This photo link is not valid (altered or not ours)",
            Self::PhotoLinkExpired => "This photo link has expired; reload the page",
        }
    }

    /// The message in Chinese (the problem's `message_zh`) when no more specific one is given.
    pub fn message_zh(self) -> &'static str {
        match self {
            Self::MalformedJson => "请求体不是有效的 JSON",
            Self::InvalidField => "字段缺失、类型错误或不被允许",
            Self::PayloadTooLarge => "请求体过大",
            Self::UnsupportedMediaType => "不支持的内容类型",
            Self::InvalidQuery => "查询参数无效",
            Self::InvalidId => "路径中的标识符无效",
            Self::RouteNotFound => "接口不存在",
            Self::MethodNotAllowed => "该接口不支持此请求方法",
            Self::BadRequest => "请求无效",
            Self::Unauthenticated => "请先登录",
            Self::TokenMalformed => "访问令牌格式错误",
            Self::TokenExpired => "访问令牌已过期",
            Self::TokenSignatureInvalid => "访问令牌签名无效",
            Self::TokenAlgorithmNotAllowed => "访问令牌使用了不允许的算法",
            Self::TokenUnknownKey => "访问令牌由未知密钥签发",
            Self::InvalidCredentials => "用户名或密码错误",
            Self::AccountDisabled => "账号已停用",
            Self::TooManyLoginAttempts => "登录尝试过于频繁，请稍后再试",
            Self::RefreshTokenInvalid => "刷新令牌无效",
            Self::RefreshTokenExpired => "刷新令牌已过期，请重新登录",
            Self::RefreshTokenReused => "刷新令牌被重复使用，该设备的会话已被撤销，请重新登录",
            Self::RefreshTokenRevoked => "刷新令牌已被撤销，请重新登录",
            Self::DeviceMismatch => "刷新令牌不属于此设备",
            Self::SessionRevoked => "会话已退出或被撤销，请重新登录",
            Self::Forbidden => "您的角色无权在此执行该操作",
            Self::NotFound => "未找到",
            Self::UsernameTaken => "用户名已被占用",
            Self::OrgUnitCodeTaken => "区划代码已被使用",
            Self::PlaceRetired => "该区划已撤销",
            Self::InvalidPlaceChange => "不能将该区划调整或并入到此处",
            Self::CategoryAliasTaken => "该表述在此已对应某一问题类别",
            Self::InvalidOrgLevel => "层级与上级单位不匹配",
            Self::DuplicateRoleAssignment => "该人员在此已有该角色",
            Self::ImportRejected => "导入被拒绝，未写入任何数据",
            Self::TusVersionUnsupported => "仅支持 tus 1.0.0 协议",
            Self::UploadOffsetMismatch => {
                "Upload-Offset 与服务器已接收的字节数不符，请先用 HEAD 查询偏移量后续传"
            }
            Self::UploadBusy => "该上传正被另一请求写入，请稍后重试",
            Self::ChecksumMismatch => "分片校验和不符，该分片未保存，请重传",
            Self::ChecksumAlgorithmUnsupported => "仅支持 sha256 校验和",
            Self::UploadLengthExceeded => "数据超出声明的 Upload-Length",
            Self::PhotoTooLarge => "照片文件过大",
            Self::UploadQuotaExceeded => "未完成的上传过多，请先完成或删除已有上传",
            Self::Sha256Mismatch => "文件内容与声明的 SHA-256 不符，未保存",
            Self::NotAnImage => "文件不是 JPEG、PNG、WebP 或 HEIC 图片",
            Self::ImageTooLarge => "图片像素过多",
            Self::ImageUndecodable => "图片已损坏，无法解码",
            Self::StorageUnavailable => "照片存储暂不可用，请稍后重试",
            Self::UnsupportedProtocol => "不支持的同步协议版本",
            Self::SequenceReused => "该序号已被其他操作使用",
            Self::MalformedMutation => "无法识别的同步操作",
            Self::DeviceRevoked => "该设备已被停用",
            Self::NotAssigned => "问题尚未交办",
            Self::Conflict => "已存在",
            Self::EscalationAtTop => "已升级至最高等级",
            Self::ExtensionAlreadyPending => "已有待审批的延期申请",
            Self::NoPendingExtension => "没有待审批的延期申请",
            Self::IssueIdTaken => "该编号的问题已存在且内容不同",
            Self::ConcurrentUpdate => "问题刚被他人修改，请刷新后重试",
            Self::InvalidTransition => "问题当前状态下不能执行该操作",
            Self::PhotosPending => "所需照片尚未上传完成",
            Self::EvidenceFlagged => "整改后照片存在疑点，须说明理由方可销号",
            Self::InspectionIdTaken => "该编号的督查已存在，且模板或地点不同",
            Self::TemplateArchived => "该检查模板已停用",
            Self::TemplateVersionUnknown => "检查模板没有该版本",
            Self::ImportAlreadyDone => "该文件已导入过，未重复导入",
            Self::ImportNotUndoable => "该批导入的问题已有后续办理，不能撤销",
            Self::DatabaseUnavailable => "数据库暂不可用",
            Self::Internal => "服务器内部错误",
            Self::ControlCharacter => "文本中含有控制字符（如 NUL），仅允许制表符和换行",
            Self::InvalidDeviceTime => {
                "device_time 须为带时区的 RFC 3339 时间，如 2026-11-20T08:00:00+08:00"
            }
            Self::SequenceGapTooLarge => "序号超出设备已确认序号过多",
            Self::DiskFull => "服务器磁盘已满，本次操作未写入，请稍后重试",
            Self::UploadEmpty => "上传文件为空（0 字节），不予接受",
            Self::UploadBodyTimeout => "请求体长时间未收到数据，已收到的部分已保存，请续传",
            Self::PhotoLinkInvalid => "照片链接无效（已被改动或非本系统签发）",
            Self::PhotoLinkExpired => "照片链接已过期，请刷新页面",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error that can reach a client: a code, an English detail, optionally a Chinese detail and
/// extra members (e.g. per-row import errors). Internal causes are kept for the log, never sent.
#[derive(Debug)]
pub struct AppError {
    pub code: ErrorCode,
    pub detail: String,
    pub detail_zh: Option<String>,
    pub extra: Option<serde_json::Value>,
    pub source: Option<anyhow::Error>,
}

impl AppError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            detail_zh: None,
            extra: None,
            source: None,
        }
    }

    /// A Chinese detail to send as `message_zh` instead of the code's generic one.
    pub fn zh(mut self, detail_zh: impl Into<String>) -> Self {
        self.detail_zh = Some(detail_zh.into());
        self
    }

    /// Extra problem members (RFC 9457 extensions), merged into the body.
    pub fn with_extra(mut self, extra: serde_json::Value) -> Self {
        self.extra = Some(extra);
        self
    }

    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let source = source.into();
        let code = storage_fault(&source).unwrap_or(ErrorCode::Internal);
        let detail = match code {
            ErrorCode::DatabaseUnavailable => "the database is busy or unreachable",
            ErrorCode::DiskFull => "the disk is full; nothing was written",
            _ => "an unexpected error occurred",
        };
        let mut e = Self::new(code, detail);
        e.source = Some(source);
        e
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn invalid_field(
        field: &str,
        reason: impl fmt::Display,
        reason_zh: impl fmt::Display,
    ) -> Self {
        Self::new(ErrorCode::InvalidField, format!("{field}: {reason}"))
            .zh(format!("{field}：{reason_zh}"))
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)?;
        if let Some(src) = &self.source {
            write!(f, " ({src:#})")?;
        }
        Ok(())
    }
}

impl std::error::Error for AppError {}

impl AppError {
    /// A concurrent transaction wrote the same key first (PostgreSQL: both checked, both
    /// inserted) or the database refused to serialize: redoing the work will see the winner.
    pub fn is_write_race(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        if self.code == ErrorCode::ConcurrentUpdate {
            // An optimistic version check lost to a concurrent writer: redone, it reads the winner.
            return true;
        }
        match self.source.as_ref().and_then(|s| s.downcast_ref::<Error>()) {
            Some(Error::DatabaseError(
                DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure,
                _,
            )) => true,
            // diesel has no kind for PostgreSQL's 40P01; its message is fixed.
            Some(Error::DatabaseError(_, info)) => info.message().contains("deadlock detected"),
            _ => false,
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::NotFound => Self::not_found("record"),
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                let mut err = Self::new(ErrorCode::DatabaseUnavailable, "database connection lost");
                err.source = Some(e.into());
                err
            }
            _ => Self::internal(e),
        }
    }
}

/// Faults of the storage under the database rather than of the request: a write lock held by
/// another process past busy_timeout (SQLite `database is locked`), a full disk (SQLite
/// `database or disk is full`, PostgreSQL SQLSTATE 53100 `No space left on device`), anywhere in
/// the error's chain. `None` for anything else.
pub fn storage_fault(error: &anyhow::Error) -> Option<ErrorCode> {
    error.chain().find_map(|cause| {
        let text = cause.to_string();
        if text.contains("database or disk is full")
            || text.contains("No space left on device")
            || text.contains("could not extend file")
        {
            Some(ErrorCode::DiskFull)
        } else if text.contains("database is locked") || text.contains("database table is locked") {
            Some(ErrorCode::DatabaseUnavailable)
        } else {
            None
        }
    })
}
