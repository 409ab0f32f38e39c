//! Loading and checking settings.

use super::*;

#[test]
fn scheme_picks_the_backend() {
    assert!(matches!(
        DatabaseTarget::from_url("postgres://u@h/db"),
        DatabaseTarget::Postgres(_)
    ));
    assert!(matches!(
        DatabaseTarget::from_url("postgresql://u@h/db"),
        DatabaseTarget::Postgres(_)
    ));
    match DatabaseTarget::from_url("sqlite://data/x.db") {
        DatabaseTarget::Sqlite(p) => assert_eq!(p, PathBuf::from("data/x.db")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn passwords_never_reach_the_log() {
    let target = DatabaseTarget::from_url("postgres://closeout:hunter2@db:5432/closeout");
    assert_eq!(
        target.describe(),
        "postgres postgres://closeout:***@db:5432/closeout"
    );
    let settings = Settings {
        database_url: Some(SecretString::from("postgres://a:hunter2@h/d".to_owned())),
        ..Settings::default()
    };
    assert!(!format!("{settings:?}").contains("hunter2"));
}

#[test]
#[allow(clippy::result_large_err)] // figment's test jail dictates the closure's error type
fn photo_storage_is_configured_from_the_environment_and_keys_stay_secret() {
    figment::Jail::expect_with(|jail| {
        let s = Settings::load(None).map_err(|e| e.to_string())?;
        assert!(matches!(
            s.photos.storage,
            PhotoStorage::Local { path: None }
        ));
        assert_eq!(s.photos.thumbnail_sizes, vec![256, 1280]);
        jail.set_env("CLOSEOUT_PHOTOS__STORAGE__BACKEND", "s3");
        jail.set_env(
            "CLOSEOUT_PHOTOS__STORAGE__ENDPOINT",
            "http://127.0.0.1:9000",
        );
        jail.set_env("CLOSEOUT_PHOTOS__STORAGE__BUCKET", "photos");
        jail.set_env("CLOSEOUT_PHOTOS__STORAGE__ACCESS_KEY_ID", "AKIDEXAMPLE");
        jail.set_env(
            "CLOSEOUT_PHOTOS__STORAGE__SECRET_ACCESS_KEY",
            "hunter2-secret",
        );
        jail.set_env("CLOSEOUT_PHOTOS__STORAGE__ALLOW_HTTP", "true");
        jail.set_env("CLOSEOUT_PHOTOS__MAX_BYTES", "1048576");
        jail.set_env("CLOSEOUT_TEST_TOOLS", "/somewhere"); // the test harness's, not ours
        let s = Settings::load(None).map_err(|e| e.to_string())?;
        assert_eq!(s.photos.max_bytes, 1_048_576);
        match &s.photos.storage {
            PhotoStorage::S3 {
                bucket,
                region,
                allow_http,
                ..
            } => {
                assert_eq!(bucket, "photos");
                assert_eq!(region, "us-east-1");
                assert!(*allow_http);
            }
            other => panic!("{other:?}"),
        }
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("AKIDEXAMPLE"));
        Ok(())
    });
}

#[test]
#[allow(clippy::result_large_err)] // figment's test jail dictates the closure's error type
fn the_shipped_replica_environment_file_is_valid_settings() {
    // deploy/closeout.env.example, as systemd's EnvironmentFile would pass it.
    let example = include_str!("../../../deploy/closeout.env.example");
    figment::Jail::expect_with(|jail| {
        for line in example.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line.split_once('=').ok_or("KEY=value lines only")?;
            jail.set_env(k, v);
        }
        let s = Settings::load(None).map_err(|e| e.to_string())?;
        assert!(s.database_url.is_some());
        assert!(s.auth.jwt_secret.is_some());
        assert!(matches!(s.photos.storage, PhotoStorage::S3 { .. }));
        Ok(())
    });
}

#[test]
#[allow(clippy::result_large_err)] // figment's test jail dictates the closure's error type
fn environment_overrides_file_overrides_defaults() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "closeout.toml",
            "listen = \"0.0.0.0:9000\"\n[auth]\naccess_ttl_secs = 60\n",
        )?;
        jail.set_env("CLOSEOUT_LISTEN", "127.0.0.1:7000");
        jail.set_env("CLOSEOUT_DATA_DIR", "/srv/closeout");
        jail.set_env("CLOSEOUT_TEST_BACKEND", "postgres"); // the harness's, not ours
        let s = Settings::load(None).map_err(|e| e.to_string())?;
        assert_eq!(s.listen, "127.0.0.1:7000");
        assert_eq!(s.auth.access_ttl_secs, 60);
        assert_eq!(s.data_dir, PathBuf::from("/srv/closeout"));
        assert_eq!(s.auth.refresh_ttl_days, 90);
        Ok(())
    });
}

#[test]
#[allow(clippy::result_large_err)] // figment's test jail dictates the closure's error type
fn kubernetes_service_links_are_ignored_and_typos_still_refused() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("CLOSEOUT_PORT", "tcp://10.96.0.7:8080");
        jail.set_env("CLOSEOUT_PORT_8080_TCP", "tcp://10.96.0.7:8080");
        jail.set_env("CLOSEOUT_PORT_8080_TCP_PROTO", "tcp");
        jail.set_env("CLOSEOUT_PORT_8080_TCP_PORT", "8080");
        jail.set_env("CLOSEOUT_PORT_8080_TCP_ADDR", "10.96.0.7");
        jail.set_env("CLOSEOUT_SERVICE_HOST", "10.96.0.7");
        jail.set_env("CLOSEOUT_SERVICE_PORT", "8080");
        jail.set_env("CLOSEOUT_SERVICE_PORT_HTTP", "8080");
        jail.set_env("CLOSEOUT_LISTEN", "0.0.0.0:8080");
        let s = Settings::load(None).map_err(|e| e.to_string())?;
        assert_eq!(s.listen, "0.0.0.0:8080");
        // Someone meaning the port, not a service link: still refused.
        jail.set_env("CLOSEOUT_PORT", "8080");
        let err = Settings::load(None).err().map(|e| e.to_string());
        assert!(
            err.is_some_and(|e| e.contains("port")),
            "CLOSEOUT_PORT=8080 accepted"
        );
        jail.set_env("CLOSEOUT_PORT", "tcp://10.96.0.7:8080");
        jail.set_env("CLOSEOUT_LISTNE", "0.0.0.0:8080");
        let err = Settings::load(None).err().map(|e| e.to_string());
        assert!(
            err.is_some_and(|e| e.contains("listne")),
            "a typo was accepted"
        );
        Ok(())
    });
}

#[test]
#[allow(clippy::result_large_err)]
fn the_close_out_policy_is_set_by_flag_name_and_typos_are_refused() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "closeout.toml",
            "[evidence]\nblock_approve = [\"no_exif\", \"reused\"]\n",
        )?;
        let s = Settings::load(None).map_err(|e| e.to_string())?;
        assert_eq!(s.evidence.block_approve, ["no_exif", "reused"]);
        jail.create_file(
            "closeout.toml",
            "[evidence]\nblock_approve = [\"far_from_isue\"]\n",
        )?;
        let err = Settings::load(None).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("far_from_isue")));
        jail.create_file(
            "closeout.toml",
            "[evidence]\nblock_approve = [\"pending\"]\n",
        )?;
        assert!(
            Settings::load(None).is_err(),
            "pending always blocks; not a policy"
        );
        Ok(())
    });
}

#[test]
fn lights_and_tiles_are_checked_at_start_up() {
    let mut s = Settings::default();
    assert!(s.check().is_ok());
    s.lights.red_sheet.colour = "red; background:url(x)".into();
    assert!(s.check().is_err(), "a colour is #rrggbb, nothing else");
    s = Settings::default();
    s.console.tile_url = Some(
        "https://t{s}.tianditu.gov.cn/vec_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}".into(),
    );
    assert!(s.check().is_err(), "{{s}} needs subdomains");
    s.console.tile_subdomains = vec!["0".into(), "1".into()];
    assert!(s.check().is_ok());
    assert_eq!(
        s.console.tile_origin().as_deref(),
        Some("https://*.tianditu.gov.cn")
    );
    s.console.tile_url = Some("https://tiles.example.cn:8443/{z}/{x}/{y}.png".into());
    assert_eq!(
        s.console.tile_origin().as_deref(),
        Some("https://tiles.example.cn:8443")
    );
    s.console.tile_url = Some("javascript:alert(1)//{z}{x}{y}".into());
    assert!(s.check().is_err());
}
