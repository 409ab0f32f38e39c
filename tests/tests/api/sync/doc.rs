//! docs/sync-protocol.md names every code a phone can meet: each error code used on the paths a
//! push, a pull or a conflict takes (the sync, issue and inspection services, access and evidence
//! checks) must appear in it, so a code added in the source without a line in the document fails
//! here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `SequenceGapTooLarge` → `sequence_gap_too_large`.
fn snake(camel: &str) -> String {
    let mut s = String::new();
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                s.push('_');
            }
            s.push(ch.to_ascii_lowercase());
        } else {
            s.push(ch);
        }
    }
    s
}

/// Every code the source uses: `ErrorCode::X`, and the helpers that imply one.
fn codes_in(source: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for (i, _) in source.match_indices("ErrorCode::") {
        let name: String = source[i + "ErrorCode::".len()..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        if name.starts_with(|c: char| c.is_ascii_uppercase()) {
            codes.insert(snake(&name));
        }
    }
    for (helper, code) in [
        ("AppError::invalid_field(", "invalid_field"),
        ("AppError::not_found(", "not_found"),
    ] {
        if source.contains(helper) {
            codes.insert(code.to_owned());
        }
    }
    codes
}

#[test]
fn every_code_on_the_sync_paths_is_in_the_protocol_document() {
    let domain = root().join("server/src/domain");
    let mut files = Vec::new();
    for dir in ["sync", "issues", "inspections"] {
        rust_files(&domain.join(dir), &mut files);
    }
    // Importing a 交办清单 is an office's REST and CLI task, never a phone's (docs/ledger.md).
    files.retain(|f| {
        !f.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("import"))
    });
    files.extend(["access.rs", "evidence.rs"].map(|f| domain.join(f)));
    files.push(root().join("server/src/api/sync.rs"));
    let mut codes = BTreeSet::new();
    for file in &files {
        codes.extend(codes_in(&std::fs::read_to_string(file).unwrap()));
    }
    assert!(codes.len() > 15, "the scan found codes: {codes:?}");
    let doc = std::fs::read_to_string(root().join("docs/sync-protocol.md")).unwrap();
    let missing: Vec<&String> = codes
        .iter()
        .filter(|c| !doc.contains(&format!("`{c}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/sync-protocol.md does not name these codes used on the sync paths: {missing:?}"
    );
}
