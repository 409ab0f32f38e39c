//! The diesel schema, in types both backends share (TEXT ids, UTC TIMESTAMP, BOOLEAN).

diesel::table! {
    org_units (id) {
        id -> Text,
        code -> Nullable<Text>,
        name -> Text,
        level -> Text,
        parent_id -> Nullable<Text>,
        path -> Text,
        depth -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        phone -> Nullable<Text>,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    role_assignments (id) {
        id -> Text,
        user_id -> Text,
        role -> Text,
        org_unit_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        family_id -> Text,
        user_id -> Text,
        device_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    uploads (id) {
        id -> Text,
        user_id -> Text,
        length -> BigInt,
        upload_offset -> BigInt,
        sha256 -> Text,
        filename -> Nullable<Text>,
        purpose -> Text,
        owner_kind -> Nullable<Text>,
        owner_id -> Nullable<Text>,
        metadata -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
        photo_sha256 -> Nullable<Text>,
    }
}

diesel::table! {
    photos (sha256) {
        sha256 -> Text,
        format -> Text,
        content_type -> Text,
        bytes -> BigInt,
        width -> Nullable<Integer>,
        height -> Nullable<Integer>,
        taken_at -> Nullable<Timestamp>,
        taken_at_offset -> Nullable<Text>,
        gps_lat -> Nullable<Double>,
        gps_lon -> Nullable<Double>,
        gps_alt -> Nullable<Double>,
        gps_direction -> Nullable<Double>,
        make -> Nullable<Text>,
        model -> Nullable<Text>,
        orientation -> Nullable<Integer>,
        phash -> Nullable<Text>,
        flags -> Text,
        thumbnails -> Text,
        uploaded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    photo_attachments (id) {
        id -> Text,
        photo_sha256 -> Text,
        uploaded_by -> Text,
        purpose -> Text,
        owner_kind -> Nullable<Text>,
        owner_id -> Nullable<Text>,
        filename -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(role_assignments -> users (user_id));
diesel::joinable!(role_assignments -> org_units (org_unit_id));
diesel::joinable!(refresh_tokens -> users (user_id));

diesel::joinable!(uploads -> users (user_id));
diesel::joinable!(photo_attachments -> photos (photo_sha256));

diesel::allow_tables_to_appear_in_same_query!(
    org_units,
    users,
    role_assignments,
    refresh_tokens,
    uploads,
    photos,
    photo_attachments
);
