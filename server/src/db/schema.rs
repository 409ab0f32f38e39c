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
    issue_categories (code) {
        code -> Text,
        name_zh -> Text,
        name_en -> Text,
        parent_code -> Nullable<Text>,
        sort_order -> Integer,
        active -> Bool,
    }
}

diesel::table! {
    ledger_counters (scope_id, year) {
        scope_id -> Text,
        year -> Integer,
        last_value -> Integer,
    }
}

diesel::table! {
    issues (id) {
        id -> Text,
        ledger_scope_id -> Text,
        ledger_no -> Text,
        title -> Text,
        description -> Text,
        category -> Text,
        severity -> Text,
        source -> Text,
        place_id -> Text,
        place_path -> Text,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        accuracy_m -> Nullable<Double>,
        address -> Nullable<Text>,
        reporter_id -> Nullable<Text>,
        responsible_unit_id -> Nullable<Text>,
        responsible_unit_path -> Nullable<Text>,
        responsible_user_id -> Nullable<Text>,
        target -> Nullable<Text>,
        deadline -> Nullable<Date>,
        extension_deadline -> Nullable<Date>,
        extension_reason -> Nullable<Text>,
        escalation_level -> Integer,
        reopen_count -> Integer,
        state -> Text,
        duplicate_of -> Nullable<Text>,
        version -> Integer,
        assigned_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        progress_on -> Nullable<Date>,
    }
}

diesel::table! {
    issue_events (id) {
        id -> Text,
        issue_id -> Text,
        seq -> Integer,
        action -> Text,
        from_state -> Nullable<Text>,
        to_state -> Text,
        actor_id -> Nullable<Text>,
        actor_role -> Text,
        device_time -> Nullable<Timestamp>,
        server_time -> Timestamp,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        accuracy_m -> Nullable<Double>,
        comment -> Nullable<Text>,
        photos -> Text,
        data -> Text,
    }
}

diesel::table! {
    devices (id) {
        id -> Text,
        user_id -> Text,
        device_key -> Text,
        registered_at -> Timestamp,
        last_seen_at -> Nullable<Timestamp>,
        last_seq -> BigInt,
        clock_skew_ms -> Nullable<BigInt>,
        revoked_at -> Nullable<Timestamp>,
        restored_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sync_mutations (id) {
        id -> Text,
        device_id -> Text,
        seq -> BigInt,
        kind -> Text,
        status -> Text,
        result -> Text,
        device_time -> Timestamp,
        received_at -> Timestamp,
    }
}

diesel::table! {
    sync_backlog (device_id, seq) {
        device_id -> Text,
        seq -> BigInt,
        status -> Text,
        mutation -> Nullable<Text>,
        received_at -> Timestamp,
    }
}

diesel::table! {
    sync_skipped (device_id, first_seq) {
        device_id -> Text,
        first_seq -> BigInt,
        last_seq -> BigInt,
        released_at -> Timestamp,
    }
}

diesel::table! {
    sync_conflicts (id) {
        id -> Text,
        issue_id -> Text,
        place_path -> Text,
        mutation_id -> Text,
        device_id -> Text,
        user_id -> Text,
        kind -> Text,
        field -> Nullable<Text>,
        incoming -> Text,
        current_value -> Text,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        resolved_by -> Nullable<Text>,
        resolution -> Nullable<Text>,
        resolution_comment -> Nullable<Text>,
    }
}

diesel::table! {
    change_feed (seq) {
        seq -> BigInt,
        entity -> Text,
        entity_id -> Text,
        place_path -> Text,
        unit_path -> Nullable<Text>,
        previous_unit_path -> Nullable<Text>,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    change_counter (id) {
        id -> Integer,
        value -> BigInt,
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
        phash_band0 -> Nullable<Integer>,
        phash_band1 -> Nullable<Integer>,
        phash_band2 -> Nullable<Integer>,
        phash_band3 -> Nullable<Integer>,
        phash_bits -> Nullable<BigInt>,
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

diesel::table! {
    checklist_templates (id) {
        id -> Text,
        code -> Text,
        current_version -> Integer,
        archived_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    checklist_template_versions (template_id, version) {
        template_id -> Text,
        version -> Integer,
        name -> Text,
        content -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    inspections (id) {
        id -> Text,
        template_id -> Text,
        template_version -> Integer,
        place_id -> Text,
        place_path -> Text,
        mode -> Text,
        site -> Text,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        accuracy_m -> Nullable<Double>,
        address -> Nullable<Text>,
        team -> Text,
        responsible_unit_id -> Nullable<Text>,
        responsible_user_id -> Nullable<Text>,
        schedule_id -> Nullable<Text>,
        state -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        finished_on -> Nullable<Date>,
        summary -> Nullable<Text>,
        score -> Double,
        max_score -> Double,
        created_by -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    inspection_results (inspection_id, item_key) {
        inspection_id -> Text,
        item_key -> Text,
        rev -> Integer,
        result -> Text,
        score -> Double,
        max_score -> Double,
        failed -> Bool,
        recorded_by -> Text,
        device_time -> Nullable<Timestamp>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    inspection_issues (inspection_id, item_key) {
        inspection_id -> Text,
        item_key -> Text,
        issue_id -> Text,
        assignment -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    inspection_conflicts (id) {
        id -> Text,
        inspection_id -> Text,
        place_path -> Text,
        kind -> Text,
        field -> Text,
        mutation_id -> Nullable<Text>,
        device_id -> Nullable<Text>,
        user_id -> Text,
        incoming -> Text,
        current_value -> Text,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        resolved_by -> Nullable<Text>,
        resolution -> Nullable<Text>,
        resolution_comment -> Nullable<Text>,
    }
}

diesel::table! {
    inspection_schedules (id) {
        id -> Text,
        place_id -> Text,
        place_path -> Text,
        template_id -> Text,
        cadence -> Text,
        team -> Text,
        starts_on -> Date,
        ends_on -> Nullable<Date>,
        created_by -> Text,
        created_at -> Timestamp,
        archived_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    deductions (id) {
        id -> Text,
        place_id -> Text,
        place_path -> Text,
        kind -> Text,
        points -> Double,
        reason -> Text,
        occurred_on -> Date,
        issue_id -> Nullable<Text>,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    issue_imports (id) {
        id -> Text,
        list_key -> Text,
        file_name -> Text,
        file_sha256 -> Text,
        place_path -> Text,
        imported_by -> Text,
        imported_at -> Timestamp,
        row_count -> Integer,
        created -> Integer,
        updated -> Integer,
        skipped -> Integer,
        undone_at -> Nullable<Timestamp>,
        undone_by -> Nullable<Text>,
    }
}

diesel::table! {
    issue_import_rows (list_key, row_key) {
        list_key -> Text,
        row_key -> Text,
        issue_id -> Text,
        created_by -> Text,
        last_import_id -> Text,
        content_sha256 -> Text,
        issue_version -> Integer,
    }
}

diesel::table! {
    issue_photos (issue_id, photo_sha256) {
        issue_id -> Text,
        photo_sha256 -> Text,
    }
}

diesel::joinable!(role_assignments -> users (user_id));
diesel::joinable!(issue_events -> issues (issue_id));
diesel::joinable!(role_assignments -> org_units (org_unit_id));
diesel::table! {
    console_sessions (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        ended_reason -> Nullable<Text>,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(uploads -> users (user_id));
diesel::joinable!(console_sessions -> users (user_id));
diesel::joinable!(photo_attachments -> photos (photo_sha256));
diesel::joinable!(checklist_template_versions -> checklist_templates (template_id));
diesel::joinable!(inspection_results -> inspections (inspection_id));
diesel::joinable!(inspection_issues -> inspections (inspection_id));

diesel::allow_tables_to_appear_in_same_query!(
    org_units,
    users,
    role_assignments,
    refresh_tokens,
    issue_categories,
    ledger_counters,
    issues,
    issue_events,
    devices,
    sync_mutations,
    sync_backlog,
    sync_conflicts,
    change_feed,
    change_counter,
    uploads,
    photos,
    photo_attachments,
    checklist_templates,
    checklist_template_versions,
    inspections,
    inspection_results,
    inspection_issues,
    inspection_conflicts,
    inspection_schedules,
    deductions,
    sync_skipped,
    issue_photos,
    console_sessions,
);

diesel::table! {
    feed_epoch (id) {
        id -> Integer,
        epoch -> Text,
    }
}

diesel::table! {
    place_changes (id) {
        id -> Text,
        org_unit_id -> Text,
        kind -> Text,
        data -> Text,
        actor_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    document_counters (office_id, year) {
        office_id -> Text,
        year -> Integer,
        last_value -> Integer,
    }
}

diesel::table! {
    official_documents (id) {
        id -> Text,
        kind -> Text,
        subject -> Text,
        office_id -> Text,
        year -> Integer,
        seq -> Integer,
        number -> Text,
        issued_on -> Date,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    category_aliases (id) {
        id -> Text,
        county_id -> Nullable<Text>,
        alias -> Text,
        category_code -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    scope_resets (user_id) {
        user_id -> Text,
        stamp -> Text,
        reset_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(category_aliases, org_units);
