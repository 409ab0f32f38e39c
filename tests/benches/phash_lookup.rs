//! Near-duplicate lookup benchmark: finding the photos whose perceptual hash is within
//! `evidence.near_duplicate_bits` of a new photo's, among N stored photos (default 1,000,000),
//! through the band index (`evidence::near_duplicates`, the code the evidence checks run), beside
//! the linear scan it replaced (read every stored hash, compare each), measured in the same run
//! on the same database.
//!
//!     cargo bench -p closeout-tests --bench phash_lookup [-- N LOOKUPS SCANS BITS]
//!     CLOSEOUT_TEST_BACKEND=postgres cargo bench -p closeout-tests --bench phash_lookup
//!
//! Defaults: 1,000,000 photos, 500 indexed lookups, 5 linear scans (each reads every row), the
//! default threshold (`NEAR_DUPLICATE_BITS`). Rows are generated inside the database
//! (pseudo-random hashes from the row number; the photo indexes are dropped for the bulk insert
//! and re-created from their own stored definitions, as a restore would; then `ANALYZE`, and on
//! PostgreSQL `VACUUM ANALYZE` as autovacuum would run after the insert — set
//! `CLOSEOUT_BENCH_NO_VACUUM=1` for the table as the insert left it). Each looked-up hash
//! has four planted neighbours, 1, BITS/2, BITS and BITS + 1 bits away: the first three must be
//! found, the last not, and the index must find exactly what the scan finds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use closeout::db::DbConnection;
use closeout::db::photos as q;
use closeout::domain::evidence::near_duplicates;
use closeout::media::phash;
use closeout::settings::NEAR_DUPLICATE_BITS;
use closeout_tests::TestApp;
use closeout_tests::photos::hashed_photo_row;
use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use std::time::Instant;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; only numbers are ours.
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(1_000_000);
    let lookups = args.get(1).copied().unwrap_or(500);
    let scans = args.get(2).copied().unwrap_or(5).min(lookups);
    let bits = args.get(3).map_or(NEAR_DUPLICATE_BITS, |b| *b as u32);
    let app = TestApp::spawn().await;
    let db = app.db();
    let backend = db.backend().as_str();
    let mut pooled = db.get()?;
    let conn: &mut DbConnection = &mut pooled;
    let user = app.admin.id.as_str().to_owned();

    let t = Instant::now();
    seed(conn, n, &user)?;
    println!(
        "# {backend}: {n} photos stored and indexed in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    println!(
        "# threshold {bits} bits; band radii {:?}",
        phash::band_radii(bits)
    );
    measure(conn, bits, lookups, scans, &user)
}

/// Plants near-duplicates of `lookups` hashes, then times the indexed lookup and the scan.
fn measure(
    conn: &mut DbConnection,
    bits: u32,
    lookups: usize,
    scans: usize,
    user: &str,
) -> anyhow::Result<()> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(bits);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut probes = Vec::new();
    for i in 0..lookups {
        let h = loop {
            let h = next();
            // Well inside the informative range, so that no planted neighbour leaves it.
            if (20..=44).contains(&h.count_ones()) {
                break h;
            }
        };
        let mut planted = Vec::new();
        let mut beyond = String::new();
        for (k, d) in [1u32, bits / 2, bits, bits + 1].into_iter().enumerate() {
            let mut twin = h;
            while phash::distance(h, twin) < d {
                twin |= (1u64 << (next() % 64)) & !h;
                twin &= !((1u64 << (next() % 64)) & h);
            }
            while phash::distance(h, twin) > d {
                twin ^= (twin ^ h) & (1u64 << (next() % 64));
            }
            let sha = format!("{:052x}{bits:04x}{i:06x}{k:02x}", 0xfeed);
            insert(conn, &sha, twin, user)?;
            if d <= bits {
                planted.push(sha);
            } else {
                beyond = sha;
            }
        }
        probes.push((
            hashed_photo_row(&format!("{:056x}{i:08x}", 0xbeef), h, user),
            planted,
            beyond,
        ));
    }

    // How the database runs one band's query (the first lookup's band 0).
    if let Some((p, _, _)) = probes.first() {
        let h = phash::parse(p.phash.as_deref().unwrap()).unwrap();
        let values = phash::band_candidates(h, bits)[0]
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let explain = match conn {
            DbConnection::Sqlite(_) => "EXPLAIN QUERY PLAN",
            DbConnection::Postgres(_) => "EXPLAIN (ANALYZE, BUFFERS)",
        };
        for line in plan(
            conn,
            &format!("{explain} SELECT phash_bits FROM photos WHERE phash_band0 IN ({values})"),
        )? {
            println!("# plan: {line}");
        }
    }

    // Warm the caches as a running server's would be.
    for (p, _, _) in probes.iter().take(20) {
        near_duplicates(conn, p, bits)?;
    }

    // Through the band index, as the evidence checks do.
    let mut indexed = Vec::with_capacity(lookups);
    let mut found_indexed = Vec::new();
    for (p, planted, beyond) in &probes {
        let t = Instant::now();
        let mut found = near_duplicates(conn, p, bits)?;
        indexed.push(t.elapsed().as_secs_f64() * 1e3);
        found.sort();
        for s in planted {
            assert!(found.contains(s), "a planted near-duplicate was missed");
        }
        assert!(
            !found.contains(beyond),
            "a hash beyond the threshold was found"
        );
        found_indexed.push(found);
    }
    // Candidates read from the band indexes per lookup (outside the timing).
    let mut candidates = 0usize;
    for (p, _, _) in &probes {
        let h = phash::parse(p.phash.as_deref().unwrap()).unwrap();
        candidates += q::phashes_sharing_a_band(conn, &phash::band_candidates(h, bits))?.len();
    }

    // The linear scan: read every stored hash, compare each.
    let mut scanned = Vec::new();
    for (i, (p, _, _)) in probes.iter().enumerate().take(scans) {
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
        scanned.push(t.elapsed().as_secs_f64() * 1e3);
        found.sort();
        assert_eq!(
            found, found_indexed[i],
            "index and scan find the same photos"
        );
    }

    indexed.sort_by(f64::total_cmp);
    scanned.sort_by(f64::total_cmp);
    let pct = |v: &[f64], p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    let found: usize = found_indexed.iter().map(Vec::len).sum();
    println!(
        "# {lookups} lookups within {bits} bits: {found} photos found ({} planted within, \
         {lookups} planted beyond: none found); {:.0} candidates read per lookup",
        lookups * 3,
        candidates as f64 / lookups as f64
    );
    println!("index_lookup_median: {:.3} ms", pct(&indexed, 0.5));
    println!("index_lookup_p99: {:.3} ms", pct(&indexed, 0.99));
    println!("index_lookup_max: {:.3} ms", pct(&indexed, 1.0));
    println!(
        "linear_scan_median: {:.1} ms ({} scans, same results as the index)",
        pct(&scanned, 0.5),
        scanned.len()
    );
    println!("linear_scan_max: {:.1} ms", pct(&scanned, 1.0));
    println!(
        "speedup_median: {:.0}x",
        pct(&scanned, 0.5) / pct(&indexed, 0.5)
    );
    Ok(())
}

/// The lines of an `EXPLAIN` (SQLite: each step's `detail`; PostgreSQL: each line of the plan).
fn plan(conn: &mut DbConnection, sql: &str) -> anyhow::Result<Vec<String>> {
    #[derive(QueryableByName)]
    struct SqliteLine {
        #[diesel(sql_type = Text)]
        detail: String,
    }
    #[derive(QueryableByName)]
    struct PgLine {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    Ok(match conn {
        DbConnection::Sqlite(_) => diesel::sql_query(sql)
            .load::<SqliteLine>(conn)?
            .into_iter()
            .map(|r| r.detail)
            .collect(),
        DbConnection::Postgres(_) => diesel::sql_query(sql)
            .load::<PgLine>(conn)?
            .into_iter()
            .map(|r| r.line)
            .collect(),
    })
}

#[derive(QueryableByName)]
struct IndexDef {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    def: String,
}

/// `n` photos with pseudo-random hashes, generated by the database itself.
fn seed(conn: &mut DbConnection, n: usize, user: &str) -> anyhow::Result<()> {
    // The photo indexes (not the primary key), as the migrations made them.
    let defs: Vec<IndexDef> = diesel::sql_query(match conn {
        DbConnection::Sqlite(_) => {
            "SELECT name AS name, sql AS def FROM sqlite_master
             WHERE type = 'index' AND tbl_name = 'photos' AND sql IS NOT NULL"
        }
        DbConnection::Postgres(_) => {
            "SELECT i.relname::text AS name, pg_get_indexdef(i.oid) AS def
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
             WHERE x.indrelid = 'photos'::regclass AND NOT x.indisprimary AND NOT x.indisunique"
        }
    })
    .load(conn)?;
    assert!(
        defs.iter().any(|d| d.name == "photos_phash_band0"),
        "the band indexes exist"
    );
    for d in &defs {
        diesel::sql_query(format!("DROP INDEX {}", d.name)).execute(conn)?;
    }
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
                                 created_at, phash, phash_band0, phash_band1, phash_band2, phash_band3,
                                 phash_bits)
             SELECT printf('%064x', i), 'jpeg', 'image/jpeg', 1000, '[]', '[]', '{user}',
                    '2026-11-30 00:00:00', printf('%04x%04x%04x%04x', b0, b1, b2, b3), b0, b1, b2, b3,
                    (b0 << 48) | (b1 << 32) | (b2 << 16) | b3
             FROM (SELECT i, {b0} AS b0, {b1} AS b1, {b2} AS b2, {b3} AS b3 FROM n)"
        ),
        DbConnection::Postgres(_) => format!(
            "INSERT INTO photos (sha256, format, content_type, bytes, flags, thumbnails, uploaded_by,
                                 created_at, phash, phash_band0, phash_band1, phash_band2, phash_band3,
                                 phash_bits)
             SELECT lpad(to_hex(i), 64, '0'), 'jpeg', 'image/jpeg', 1000, '[]', '[]', '{user}',
                    '2026-11-30 00:00:00', lpad(to_hex(b0), 4, '0') || lpad(to_hex(b1), 4, '0')
                    || lpad(to_hex(b2), 4, '0') || lpad(to_hex(b3), 4, '0'), b0, b1, b2, b3,
                    (b0 << 48) | (b1 << 32) | (b2 << 16) | b3
             FROM (SELECT i, {b0} AS b0, {b1} AS b1, {b2} AS b2, {b3} AS b3
                   FROM generate_series(1::bigint, {n}::bigint) AS i) AS g"
        ),
    };
    diesel::sql_query(sql).execute(conn)?;
    for d in &defs {
        diesel::sql_query(&d.def).execute(conn)?;
    }
    // What autovacuum does after a bulk insert (PostgreSQL ≥ 13 vacuums on inserts too): the
    // visibility map it sets is what lets the band indexes answer without visiting the table.
    // `CLOSEOUT_BENCH_NO_VACUUM=1` measures the table as the insert left it.
    let vacuum = std::env::var_os("CLOSEOUT_BENCH_NO_VACUUM").is_none();
    match conn {
        DbConnection::Postgres(_) if vacuum => {
            diesel::sql_query("VACUUM ANALYZE photos").execute(conn)?;
        }
        _ => {
            diesel::sql_query("ANALYZE").execute(conn)?;
        }
    }
    Ok(())
}

fn insert(conn: &mut DbConnection, sha: &str, h: u64, user: &str) -> anyhow::Result<()> {
    q::insert_photo_if_absent(conn, &hashed_photo_row(sha, h, user))?;
    q::set_phash_index(conn, sha, h)?;
    Ok(())
}
