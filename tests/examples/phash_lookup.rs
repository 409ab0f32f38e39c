//! Near-duplicate lookup benchmark: finding the photos whose perceptual hash is within
//! `evidence.near_duplicate_bits` of a new photo's, among N stored photos (default 1,000,000),
//! through the indexed hash bands (`evidence::near_duplicates`, the code the evidence checks
//! run), beside a brute-force baseline that reads every stored hash and compares it.
//!
//!     cargo run -p closeout-tests --example phash_lookup [-- N QUERIES BITS]
//!
//! Without BITS it measures 7 and the default (`evidence.near_duplicate_bits`).
//!
//! SQLite by default; `CLOSEOUT_TEST_BACKEND=postgres` for PostgreSQL. Rows are generated inside
//! the database (pseudo-random hashes from the row number); a few near-duplicates of each query
//! hash are planted, and both methods must find exactly the same photos.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use closeout::db::DbConnection;
use closeout::db::photos::{self as q, PhotoRow};
use closeout::domain::evidence::near_duplicates;
use closeout::media::phash;
use closeout::settings::NEAR_DUPLICATE_BITS;
use closeout_tests::TestApp;
use diesel::RunQueryDsl;
use std::time::Instant;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(1_000_000);
    let queries = args.get(1).copied().unwrap_or(200);
    let app = TestApp::spawn().await;
    let db = app.db();
    let backend = db.backend().as_str();
    let mut pooled = db.get()?;
    let conn: &mut DbConnection = &mut pooled;
    let user = app.admin.id.as_str().to_owned();

    let t = Instant::now();
    seed(conn, n, &user)?;
    println!(
        "# {backend}: {n} photos stored in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let thresholds: Vec<u32> = match args.get(2) {
        Some(b) => vec![*b as u32],
        None => vec![7, NEAR_DUPLICATE_BITS],
    };
    for bits in thresholds {
        measure(conn, bits, queries, n, &user)?;
    }
    Ok(())
}

/// Plants near-duplicates of `queries` hashes, then times the indexed lookup and the baseline.
fn measure(
    conn: &mut DbConnection,
    bits: u32,
    queries: usize,
    n: usize,
    user: &str,
) -> anyhow::Result<()> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(bits);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    // Query hashes, each with three planted near-duplicates (1, bits/2 and `bits` bits away).
    let mut probes = Vec::new();
    for i in 0..queries {
        let h = next();
        let mut planted = Vec::new();
        for (k, d) in [1u32, bits / 2, bits].into_iter().enumerate() {
            let mut twin = h;
            let mut flipped = 0;
            while flipped < d {
                let bit = 1u64 << (next() % 64);
                if twin & bit == h & bit {
                    twin ^= bit;
                    flipped += 1;
                }
            }
            let sha = format!("{:056x}{bits:04x}{i:02x}{k:02x}", 0xfeed);
            insert(conn, &sha, twin, user)?;
            planted.push(sha);
        }
        probes.push((photo(&format!("{:064x}", i + 1 + n), h, user), planted));
    }

    // Through the band indexes, as the evidence checks do.
    let mut indexed = Vec::with_capacity(queries);
    let mut found_indexed = Vec::new();
    for (p, _) in &probes {
        let t = Instant::now();
        let mut found = near_duplicates(conn, p, bits)?;
        indexed.push(t.elapsed().as_secs_f64() * 1e3);
        found.sort();
        found_indexed.push(found);
    }
    // Brute force: read every stored hash, compare each.
    let mut brute = Vec::new();
    for (i, (p, planted)) in probes.iter().enumerate().take(queries.min(2)) {
        let t = Instant::now();
        let me = phash::parse(p.phash.as_deref().unwrap()).unwrap();
        let all: Vec<(String, Option<String>)> = {
            use closeout::db::schema::photos::dsl::*;
            use diesel::QueryDsl;
            photos.select((sha256, phash)).load(conn)?
        };
        let mut found: Vec<String> = all
            .into_iter()
            .filter(|(_, h)| {
                h.as_deref()
                    .filter(|h| phash::informative(h))
                    .and_then(phash::parse)
                    .is_some_and(|h| phash::distance(me, h) <= bits)
            })
            .map(|(s, _)| s)
            .collect();
        brute.push(t.elapsed().as_secs_f64() * 1e3);
        found.sort();
        assert_eq!(found, found_indexed[i], "both methods find the same photos");
        for s in planted {
            assert!(found.contains(s), "a planted near-duplicate was missed");
        }
    }
    indexed.sort_by(f64::total_cmp);
    brute.sort_by(f64::total_cmp);
    let pct = |v: &[f64], p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    let found: usize = found_indexed.iter().map(Vec::len).sum();
    println!(
        "# {queries} lookups within {bits} bits, {found} photos found ({} planted)",
        queries * 3
    );
    println!(
        "indexed_lookup_median_{bits}bits: {:.2} ms",
        pct(&indexed, 0.5)
    );
    println!(
        "indexed_lookup_p99_{bits}bits: {:.2} ms",
        pct(&indexed, 0.99)
    );
    println!(
        "brute_force_median_{bits}bits: {:.1} ms ({} runs)",
        pct(&brute, 0.5),
        brute.len()
    );
    println!(
        "speedup_median_{bits}bits: {:.0}x",
        pct(&brute, 0.5) / pct(&indexed, 0.5)
    );
    Ok(())
}

/// `n` photos with pseudo-random hashes, generated by the database itself.
fn seed(conn: &mut DbConnection, n: usize, user: &str) -> anyhow::Result<()> {
    // Bands from the row number through four different multiplicative hashes.
    let band = |k: u64| format!("((i * {k}) / 65536) % 65536");
    let (b0, b1, b2, b3) = (
        band(2_654_435_761),
        band(2_246_822_519),
        band(3_266_489_917),
        band(668_265_263),
    );
    let sql = match conn {
        DbConnection::Sqlite(_) => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
             INSERT INTO photos (sha256, format, content_type, bytes, flags, thumbnails, uploaded_by,
                                 created_at, phash, phash_band0, phash_band1, phash_band2, phash_band3)
             SELECT printf('%064x', i), 'jpeg', 'image/jpeg', 1000, '[]', '[]', '{user}',
                    '2026-11-30 00:00:00', printf('%04x%04x%04x%04x', b0, b1, b2, b3), b0, b1, b2, b3
             FROM (SELECT i, {b0} AS b0, {b1} AS b1, {b2} AS b2, {b3} AS b3 FROM n)"
        ),
        DbConnection::Postgres(_) => format!(
            "INSERT INTO photos (sha256, format, content_type, bytes, flags, thumbnails, uploaded_by,
                                 created_at, phash, phash_band0, phash_band1, phash_band2, phash_band3)
             SELECT lpad(to_hex(i), 64, '0'), 'jpeg', 'image/jpeg', 1000, '[]', '[]', '{user}',
                    '2026-11-30 00:00:00', lpad(to_hex(b0), 4, '0') || lpad(to_hex(b1), 4, '0')
                    || lpad(to_hex(b2), 4, '0') || lpad(to_hex(b3), 4, '0'), b0, b1, b2, b3
             FROM (SELECT i, {b0} AS b0, {b1} AS b1, {b2} AS b2, {b3} AS b3
                   FROM generate_series(1::bigint, {n}::bigint) AS i) AS g"
        ),
    };
    diesel::sql_query(sql).execute(conn)?;
    diesel::sql_query("ANALYZE").execute(conn)?;
    Ok(())
}

fn photo(sha: &str, h: u64, user: &str) -> PhotoRow {
    PhotoRow {
        sha256: sha.to_owned(),
        format: "jpeg".into(),
        content_type: "image/jpeg".into(),
        bytes: 1000,
        width: None,
        height: None,
        taken_at: None,
        taken_at_offset: None,
        gps_lat: None,
        gps_lon: None,
        gps_alt: None,
        gps_direction: None,
        make: None,
        model: None,
        orientation: None,
        phash: Some(format!("{h:016x}")),
        flags: "[]".into(),
        thumbnails: "[]".into(),
        uploaded_by: closeout::ids::UserId::from(uuid::Uuid::parse_str(user).unwrap()),
        created_at: chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
    }
}

fn insert(conn: &mut DbConnection, sha: &str, h: u64, user: &str) -> anyhow::Result<()> {
    q::insert_photo_if_absent(conn, &photo(sha, h, user))?;
    q::set_phash_bands(conn, sha, phash::bands(h))?;
    Ok(())
}
