//! The device simulator at CI size: 50 phones × 50 mutations through a hostile network, with a
//! server restart, on whichever database this run uses. Phones with signal push at the same time
//! (concurrent requests, served by the server's worker threads), and a rejection counts only if
//! the phone's own model expected it (it queued an invalid mutation on purpose).

use closeout_tests::TestApp;
use closeout_tests::simulator::{self, Config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_phones_through_a_bad_network_lose_nothing_and_converge() {
    let mut app = TestApp::spawn_with(|s| s.ledger.escalation_interval_secs = 0).await;
    let config = Config {
        devices: 50,
        mutations_per_device: 50,
        seed: 20261121,
        restart: true,
    };
    let report = simulator::run(&mut app, &config).await;
    report.print();
    assert_eq!(report.mutations, 2500);
    assert_eq!(
        report.unaccounted, 0,
        "every mutation ends applied, conflict or rejected"
    );
    assert!(
        report.unexpected.is_empty(),
        "rejections the phones' model did not expect: {:#?}",
        report.unexpected
    );
    assert!(
        report.expected_rejections > 0,
        "the phones queued invalid work"
    );
    assert_eq!(report.duplicate_issues, 0);
    assert_eq!(report.devices_converged, 50);
    assert_eq!(report.restarts, 1);
    assert!(
        report.lost_responses > 0 && report.resent_batches > 0 && report.reordered_batches > 0,
        "the network misbehaved"
    );
    assert!(
        report.applied > 1000
            && report.applied + report.conflicts + report.rejected == report.mutations
    );
}
