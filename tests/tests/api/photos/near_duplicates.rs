//! The near-duplicate index (`photos.phash_band0..3` + `phash_bits`, multi-index hashing): a
//! stored photo exactly `evidence.near_duplicate_bits` from a new one is found however its
//! differing bits fall among the four bands, one a bit further is not, and the migration that
//! added `phash_bits` fills it for photos already stored.

use super::*;
use closeout::db::DbConnection;
use closeout::db::photos as q;
use closeout::domain::evidence::near_duplicates;
use closeout::media::phash;
use closeout::settings::NEAR_DUPLICATE_BITS;
use closeout_tests::photos::hashed_photo_row;
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;

const PROBE: u64 = 0x0123_4567_89ab_cdef;

/// Every way of spreading `bits` differing bits over the four 16-bit bands.
fn splits(bits: u32) -> Vec<[u32; 4]> {
    let mut out = Vec::new();
    for a in 0..=bits.min(16) {
        for b in 0..=(bits - a).min(16) {
            for c in 0..=(bits - a - b).min(16) {
                let d = bits - a - b - c;
                if d <= 16 {
                    out.push([a, b, c, d]);
                }
            }
        }
    }
    out
}

/// `h` with `n[i]` bits of band `i` flipped (from a different position in each band).
fn flip(h: u64, n: [u32; 4]) -> u64 {
    let mut out = h;
    for (i, k) in n.into_iter().enumerate() {
        let base = 48 - 16 * i as u32;
        for bit in 0..k {
            out ^= 1 << (base + (bit + 3 * i as u32) % 16);
        }
    }
    out
}

#[tokio::test]
async fn a_photo_at_the_threshold_is_found_in_every_split_and_one_bit_beyond_is_not() {
    let app = TestApp::spawn().await;
    let db = app.db();
    let mut pooled = db.get().unwrap();
    let conn: &mut DbConnection = &mut pooled;
    let user = app.admin.id.as_str().to_owned();
    let bits = NEAR_DUPLICATE_BITS;

    let mut within = Vec::new();
    for (i, split) in splits(bits).into_iter().enumerate() {
        let h = flip(PROBE, split);
        assert_eq!(phash::distance(PROBE, h), bits);
        let sha = format!("{:060x}{i:04x}", 0xa);
        q::insert_photo_if_absent(conn, &hashed_photo_row(&sha, h, &user)).unwrap();
        q::set_phash_index(conn, &sha, h).unwrap();
        within.push(sha);
    }
    for (i, split) in splits(bits + 1).into_iter().enumerate() {
        let h = flip(PROBE, split);
        assert_eq!(phash::distance(PROBE, h), bits + 1);
        let sha = format!("{:060x}{i:04x}", 0xb);
        q::insert_photo_if_absent(conn, &hashed_photo_row(&sha, h, &user)).unwrap();
        q::set_phash_index(conn, &sha, h).unwrap();
    }
    // The photo itself, stored: not its own near-duplicate.
    let me = hashed_photo_row(&format!("{:064x}", 0xc), PROBE, &user);
    q::insert_photo_if_absent(conn, &me).unwrap();
    q::set_phash_index(conn, &me.sha256, PROBE).unwrap();

    let mut found = near_duplicates(conn, &me, bits).unwrap();
    found.sort();
    within.sort();
    assert_eq!(within.len(), 286, "every split of 10 bits over 4 bands");
    assert_eq!(found, within, "exactly the photos at the threshold");

    // A lower threshold (a setting) finds none of them.
    assert!(near_duplicates(conn, &me, bits - 1).unwrap().is_empty());
}

#[tokio::test]
async fn the_migration_fills_the_stored_hash_of_photos_already_there() {
    let app = TestApp::spawn().await;
    let db = app.db();
    let backend = db.backend().as_str();
    let mut pooled = db.get().unwrap();
    let conn: &mut DbConnection = &mut pooled;
    let user = app.admin.id.as_str().to_owned();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(backend)
        .join("2026-12-02-010001_phash_bits");
    let sql = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();

    // Back to the schema before the migration: bands, no `phash_bits`.
    conn.batch_execute(&sql("down.sql")).unwrap();
    let twin = flip(PROBE, [3, 3, 3, 1]);
    let far = flip(PROBE, [3, 3, 3, 2]);
    let high = 0xfedc_ba98_7654_3210; // top bit set: a negative `phash_bits`
    for (sha, h) in [("d1", twin), ("d2", far), ("d3", high)] {
        let sha = format!("{:062x}{sha}", 0);
        q::insert_photo_if_absent(conn, &hashed_photo_row(&sha, h, &user)).unwrap();
        let [b0, b1, b2, b3] = phash::bands(h);
        diesel::sql_query(format!(
            "UPDATE photos SET phash_band0 = {b0}, phash_band1 = {b1}, phash_band2 = {b2}, \
             phash_band3 = {b3} WHERE sha256 = '{sha}'"
        ))
        .execute(conn)
        .unwrap();
    }
    conn.batch_execute(&sql("up.sql")).unwrap();

    for (sha, h) in [("d1", twin), ("d2", far), ("d3", high)] {
        let sha = format!("{:062x}{sha}", 0);
        let stored: Vec<Option<i64>> = {
            use closeout::db::schema::photos::dsl::*;
            use diesel::{ExpressionMethods, QueryDsl};
            photos
                .filter(sha256.eq(&sha))
                .select(phash_bits)
                .load(conn)
                .unwrap()
        };
        assert_eq!(stored, vec![Some(phash::stored(h))], "{sha}");
    }
    let me = hashed_photo_row(&format!("{:064x}", 0xe), PROBE, &user);
    let found = near_duplicates(conn, &me, NEAR_DUPLICATE_BITS).unwrap();
    assert_eq!(found, vec![format!("{:062x}d1", 0)]);
}
