//! Rebuilds when a migration changes: `embed_migrations!` reads the SQL at compile time, and cargo
//! would otherwise keep a binary carrying the old (or missing) migrations.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
