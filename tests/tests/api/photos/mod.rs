//! Photos: tus uploads driven by the real tus-js-client (including a client killed halfway and
//! resumed), every shared sample photo checked against exiftool, refusals with stable codes,
//! dedup by content, read authorization, and the S3 backend against a real S3 server.

mod close_out;
mod evidence;
mod interruptions;
mod memory;
mod near_duplicates;
mod pictures;
mod processing;
mod protocol;
mod signed_links;
mod storage;
mod visibility;
mod weak_links;

use closeout::settings::PhotoStorage;
use closeout_sync_protocol::Role;
use closeout_tests::photos::{
    S3_ACCESS_KEY, S3_SECRET_KEY, S3Server, files_under, metadata_for, run_tus_js_client, samples,
    sha256_hex, tus_js_client,
};
use closeout_tests::{TestApp, assert_problem};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

pub(super) fn successes(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["event"] == "success").collect()
}

pub(super) fn decode(bytes: &[u8]) -> image::RgbImage {
    image::load_from_memory(bytes).unwrap().to_rgb8()
}
