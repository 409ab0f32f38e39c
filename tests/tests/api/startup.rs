//! Start-up: migrations are safe when several servers start at once on one database.

use closeout_tests::TestEnv;
use std::sync::{Arc, Barrier};

#[test]
fn servers_starting_at_once_on_a_fresh_database_migrate_once_and_all_start() {
    let env = TestEnv::new();
    let n = 4;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (settings, barrier) = (env.settings.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                closeout::startup::open_database(&settings)
                    .map(|_| ())
                    .map_err(|e| format!("{e:#}"))
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    // The schema is there once: each migration is recorded exactly once.
    let out = env.cli(&["migrate"], "").unwrap();
    assert_eq!(out, "database is up to date\n");
    let db = env.db();
    let mut conn = db.get().unwrap();
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let c: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM __diesel_schema_migrations")
        .get_result(&mut *conn)
        .unwrap();
    let migrations =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/sqlite"))
            .unwrap()
            .count();
    assert!(migrations >= 2);
    assert_eq!(c.n as usize, migrations);
}
