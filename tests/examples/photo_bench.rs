//! Photo benchmark: `cargo run --release -p closeout-tests --example photo_bench`
//! (after `scripts/ensure-test-tools`; installs libvips-tools with apt if `vipsthumbnail` is missing).
//!
//! 1. Processing one 12-megapixel JPEG (4032×3024, made here from a sample photo): Closeout's whole
//!    pipeline (sniff, EXIF, DCT-scaled decode, 1280 + 256 px thumbnails, orientation, phash),
//!    in-process, beside `vipsthumbnail -s 256` / `-s 1280` on the same file (a fresh process per
//!    run, as the peer script measures it; `vips --version` gives its bare start-up).
//! 2. Upload throughput over loopback with tus-js-client (the peer's client): one 100 MiB file in
//!    8 MiB chunks, then 50 files of 10 MiB all at once; the server's peak RSS (VmHWM) for each.
//!    Every file is a real 12 MP JPEG padded after its end marker, so each upload is processed.
//!    The server runs as a separate process (this program with `--serve`), release build, SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use closeout::media::{self, Limits};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const RUNS: usize = 15;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        return serve(Path::new(&args[2]));
    }
    let work = PathBuf::from("/tmp/closeout-bench");
    std::fs::create_dir_all(&work)?;
    let jpeg = work.join("12mp.jpg");
    if !jpeg.exists() {
        make_12mp(&jpeg)?;
    }
    let size = std::fs::metadata(&jpeg)?.len();
    println!("# 12 MP JPEG {} ({size} bytes)", jpeg.display());
    thumbnails(&jpeg)?;
    uploads(&work, &jpeg)?;
    Ok(())
}

fn make_12mp(out: &Path) -> anyhow::Result<()> {
    let src = closeout_tests::photos::samples().join("jolla.jpg");
    let img = image::open(src)?.resize_exact(4032, 3024, image::imageops::FilterType::CatmullRom);
    let mut buf = std::fs::File::create(out)?;
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 92).encode_image(&img)?;
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn time_ms(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    f(); // warm-up
    let ts: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let min = ts.iter().copied().fold(f64::MAX, f64::min);
    (median(ts), min)
}

fn thumbnails(jpeg: &Path) -> anyhow::Result<()> {
    let limits = Limits {
        max_pixels: 64_000_000,
    };
    let (med, min) = time_ms(RUNS, || {
        let p = media::process(jpeg, limits, &[1280, 256]).unwrap();
        assert_eq!(p.thumbnails.len(), 2);
    });
    println!("closeout_process_12mp_both_thumbnails_median: {med:.1} ms");
    println!("closeout_process_12mp_both_thumbnails_min: {min:.1} ms");
    let (med, min) = time_ms(RUNS, || {
        media::process(jpeg, limits, &[256]).unwrap();
    });
    println!("closeout_process_12mp_thumb256_only_median: {med:.1} ms");
    println!("closeout_process_12mp_thumb256_only_min: {min:.1} ms");

    if which("vipsthumbnail").is_none() {
        eprintln!("installing libvips-tools (apt)…");
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-qq", "libvips-tools"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
    }
    if which("vipsthumbnail").is_none() {
        println!("vipsthumbnail: not available (install libvips-tools)");
        return Ok(());
    }
    let out = std::env::temp_dir().join("closeout-bench-vips-%s.jpg");
    for size in ["256", "1280"] {
        let (med, min) = time_ms(RUNS, || {
            let ok = Command::new("vipsthumbnail")
                .arg(jpeg)
                .args(["-s", size, "-o"])
                .arg(&out)
                .status()
                .unwrap()
                .success();
            assert!(ok);
        });
        println!("vipsthumbnail_{size}_median: {med:.1} ms");
        println!("vipsthumbnail_{size}_min: {min:.1} ms");
    }
    let (med, _) = time_ms(RUNS, || {
        Command::new("vips")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .unwrap();
    });
    println!("vips_startup_median: {med:.1} ms");
    Ok(())
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(cmd))
            .find(|p| p.is_file())
    })
}

/// A real JPEG followed by padding (ignored by decoders) up to `len` bytes, distinct per `tag`.
fn padded(base: &[u8], len: usize, tag: &str) -> Vec<u8> {
    let mut v = base.to_vec();
    v.extend_from_slice(tag.as_bytes());
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ tag.len() as u64;
    for b in tag.bytes() {
        x = x.wrapping_mul(31).wrapping_add(u64::from(b));
    }
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

struct Server {
    child: std::process::Child,
    port: u16,
    token: String,
    _data: tempfile::TempDir,
}

impl Server {
    fn start() -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--serve")
            .arg(data.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let port = parts.next().unwrap().parse()?;
        let token = parts.next().unwrap().to_owned();
        Ok(Self {
            child,
            port,
            token,
            _data: data,
        })
    }

    fn hwm_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: f64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        kib / 1024.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tus_client(
    server: &Server,
    chunk: usize,
    conc: usize,
    files: &[PathBuf],
) -> anyhow::Result<f64> {
    tus_client_with(server, chunk, conc, files, false)
}

fn tus_client_with(
    server: &Server,
    chunk: usize,
    conc: usize,
    files: &[PathBuf],
    expect_refusal: bool,
) -> anyhow::Result<f64> {
    let tools = closeout_tests::photos::tools_dir();
    let modules = tools.join("node/node_modules");
    anyhow::ensure!(
        modules.join("tus-js-client").exists(),
        "tus-js-client missing: run scripts/ensure-test-tools"
    );
    let script = closeout_tests::photos::repo_root().join("tests/tus/bench-client.cjs");
    let out = Command::new("node")
        .env("NODE_PATH", &modules)
        .env(
            "BENCH_EXPECT_REFUSAL",
            if expect_refusal { "1" } else { "0" },
        )
        .arg(script)
        .arg(format!("http://127.0.0.1:{}/api/v1/uploads", server.port))
        .arg(&server.token)
        .arg(chunk.to_string())
        .arg(conc.to_string())
        .args(files)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok(v["mib_s"].as_f64().unwrap_or(0.0))
}

fn uploads(work: &Path, jpeg: &Path) -> anyhow::Result<()> {
    let base = std::fs::read(jpeg)?;
    let big = work.join("big_100MiB.jpg");
    std::fs::write(&big, padded(&base, 100 * 1024 * 1024, "big"))?;
    let mut small = Vec::new();
    for i in 0..50 {
        let p = work.join(format!("f10MiB_{i:02}.jpg"));
        std::fs::write(&p, padded(&base, 10 * 1024 * 1024, &format!("small-{i}")))?;
        small.push(p);
    }
    let warm = work.join("warm.jpg");
    std::fs::write(&warm, padded(&base, base.len() + 1024, "warm"))?;

    let server = Server::start()?;
    tus_client(&server, 8 << 20, 1, std::slice::from_ref(&warm))?;
    let idle = server.hwm_mib();
    let rate = tus_client(&server, 8 << 20, 1, std::slice::from_ref(&big))?;
    println!("closeout_server_rss_after_warmup: {idle:.0} MiB");
    println!("closeout_tus_single_100MiB_chunk8MiB: {rate:.0} MiB/s");
    println!(
        "closeout_tus_single_100MiB_server_peak_rss: {:.0} MiB",
        server.hwm_mib()
    );
    drop(server);

    // The byte path alone, as the peer measures it (it stores bytes and processes nothing):
    // random bytes, received, hashed, sniffed and refused as not_an_image.
    let mut noise = Vec::new();
    for i in 0..50 {
        let p = work.join(format!("noise10MiB_{i:02}.bin"));
        std::fs::write(&p, padded(b"", 10 * 1024 * 1024, &format!("noise-{i}")))?;
        noise.push(p);
    }
    let server = Server::start()?;
    tus_client(&server, 8 << 20, 1, std::slice::from_ref(&warm))?;
    let rate = tus_client_with(&server, 8 << 20, 10, &noise, true)?;
    println!("closeout_tus_50x10MiB_conc10_transfer_only: {rate:.0} MiB/s");
    println!(
        "closeout_tus_50x10MiB_conc10_transfer_only_server_peak_rss: {:.0} MiB",
        server.hwm_mib()
    );
    drop(server);

    for conc in [10, 50] {
        let server = Server::start()?;
        tus_client(&server, 8 << 20, 1, std::slice::from_ref(&warm))?;
        let rate = tus_client(&server, 8 << 20, conc, &small)?;
        println!("closeout_tus_50x10MiB_conc{conc}: {rate:.0} MiB/s");
        println!(
            "closeout_tus_50x10MiB_conc{conc}_server_peak_rss: {:.0} MiB",
            server.hwm_mib()
        );
    }
    Ok(())
}

/// The server side: a release Closeout on a free port over SQLite in `dir`, with one admin.
/// Prints "PORT TOKEN" once it is listening.
fn serve(dir: &Path) -> anyhow::Result<()> {
    let mut settings = closeout::Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        ..closeout::Settings::default()
    };
    settings.photos.max_bytes = 128 * 1024 * 1024;
    settings.photos.user_quota_bytes = 2 * 1024 * 1024 * 1024;
    settings.auth.login_per_ip_per_minute = 0;
    settings.auth.login_per_username_per_minute = 0;
    settings.log.filter = "warn".into();
    let db = closeout::startup::open_database(&settings)?;
    closeout::domain::accounts::create_user(
        &mut *db.get()?,
        None,
        closeout::domain::accounts::NewUser {
            username: "bench".into(),
            display_name: "bench".into(),
            phone: None,
            password: "bench-password-1".into(),
            roles: vec![closeout::domain::accounts::RoleGrant {
                role: closeout_sync_protocol::Role::Admin,
                org_unit_id: None,
            }],
        },
        closeout::api::state::password_policy(&settings),
    )?;
    actix_web::rt::System::new().block_on(async move {
        let app = closeout::Application::build(settings)?;
        let port = app.port();
        tokio::spawn(app.run_until_stopped());
        let res: serde_json::Value = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "bench", "password": "bench-password-1", "device_id": "bench"}))
            .send()
            .await?
            .json()
            .await?;
        let token = res["access_token"].as_str().unwrap_or_default().to_owned();
        println!("{port} {token}");
        std::io::stdout().flush()?;
        std::future::pending::<()>().await;
        Ok(())
    })
}
