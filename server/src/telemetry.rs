//! Logs (tracing, pretty or JSON) and metrics (a Prometheus registry owned by the application,
//! not a global, so several servers can run in one test process).

use crate::settings::{LogFormat, LogSettings};
use prometheus::{
    Counter, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry,
};
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Log lines dropped because the queue to the sink was full (the sink is blocked or slow).
static LOG_QUEUE_DROPS: OnceLock<ErrorCounter> = OnceLock::new();
/// Log lines the sink refused (a full disk under a log file, a closed pipe).
static LOG_WRITE_FAILURES: AtomicU64 = AtomicU64::new(0);

/// Log lines lost so far: (queue full, write failed). Zero when logging is not installed.
pub fn log_lines_dropped() -> (u64, u64) {
    let queue = LOG_QUEUE_DROPS
        .get()
        .map_or(0, |c| u64::try_from(c.dropped_lines()).unwrap_or(u64::MAX));
    (queue, LOG_WRITE_FAILURES.load(Ordering::Relaxed))
}

/// stderr as the background writer sees it: a line the sink refuses is counted and dropped, never
/// an error (the writer thread would otherwise lose it silently, uncounted).
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::io::stderr().write_all(buf).is_err() {
            LOG_WRITE_FAILURES.fetch_add(1, Ordering::Relaxed);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// Installs the global log subscriber (once per process; later calls install nothing and return
/// `None`). Logging never holds up a request: lines go through a bounded in-memory queue to a
/// writer thread; when the queue is full (the sink is blocked) or the sink refuses a line (its disk
/// is full), the line is dropped and counted in `closeout_log_lines_dropped_total`. Keep the guard
/// until the process ends: dropping it flushes what is queued.
pub fn init_logging(settings: &LogSettings) -> Option<WorkerGuard> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(settings.buffer_lines.max(1))
        .thread_name("closeout-log")
        .finish(Stderr);
    let counter = writer.error_counter();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        // Colour codes only on a terminal, never in a file or a journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let installed = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    installed.ok()?;
    let _ = LOG_QUEUE_DROPS.set(counter);
    Some(guard)
}

pub struct Metrics {
    pub registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub db_connections: IntGauge,
    pub db_idle_connections: IntGauge,
    /// Pushes run again, whole, after losing a write race (docs/sync-protocol.md).
    pub sync_push_retries: IntCounter,
    /// Log lines dropped, by reason (`queue_full`, `write_failed`); synced at each scrape.
    pub log_lines_dropped: IntCounterVec,
    /// Pushed mutations by result (`applied`, `duplicate`, `conflict`, `rejected`, `held`).
    pub sync_push_mutations: IntCounterVec,
    pub sync_push_duration: Histogram,
    pub sync_pull_duration: Histogram,
    /// Read from the database at each scrape.
    pub sync_held_backlog: IntGauge,
    pub sync_open_conflicts: IntGauge,
    pub uploads_in_progress: IntGauge,
    pub upload_bytes_received: IntCounter,
    /// Escalation steps taken by the scheduler (an overdue issue going up one level).
    pub escalations: IntCounter,
    /// Read from /proc/self at each scrape (Linux; zero elsewhere).
    pub process_resident_memory: IntGauge,
    pub process_open_fds: IntGauge,
    pub process_cpu_seconds: Counter,
}

/// Latency buckets of push and pull (a batch of up to a few thousand mutations or changes).
const SYNC_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("closeout".into()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route pattern, method and status",
            ),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route pattern",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )?;
        let db_connections = IntGauge::new("db_pool_connections", "Open database connections")?;
        let db_idle_connections =
            IntGauge::new("db_pool_idle_connections", "Idle database connections")?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(db_connections.clone()))?;
        registry.register(Box::new(db_idle_connections.clone()))?;
        let sync_push_retries = IntCounter::new(
            "sync_push_retries_total",
            "Push batches run again after a write race (serialization failure, deadlock, key race)",
        )?;
        registry.register(Box::new(sync_push_retries.clone()))?;
        let log_lines_dropped = IntCounterVec::new(
            Opts::new(
                "log_lines_dropped_total",
                "Log lines dropped so a request never waits for the log: queue_full (the sink is \
                 blocked or slow), write_failed (the sink refused it, e.g. a full disk)",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(log_lines_dropped.clone()))?;
        let sync_push_mutations = IntCounterVec::new(
            Opts::new(
                "sync_push_mutations_total",
                "Pushed mutations by result (applied, duplicate, conflict, rejected, held)",
            ),
            &["result"],
        )?;
        let sync_push_duration = Histogram::with_opts(
            HistogramOpts::new("sync_push_duration_seconds", "Push batches, whole")
                .buckets(SYNC_BUCKETS.to_vec()),
        )?;
        let sync_pull_duration = Histogram::with_opts(
            HistogramOpts::new("sync_pull_duration_seconds", "Pull pages")
                .buckets(SYNC_BUCKETS.to_vec()),
        )?;
        let sync_held_backlog = IntGauge::new(
            "sync_held_backlog",
            "Mutations held behind a gap in a device's sequence numbers",
        )?;
        let sync_open_conflicts = IntGauge::new(
            "sync_open_conflicts",
            "Sync conflicts awaiting a supervisor",
        )?;
        let uploads_in_progress = IntGauge::new(
            "uploads_in_progress",
            "Photo uploads begun and not completed",
        )?;
        let upload_bytes_received = IntCounter::new(
            "upload_bytes_received_total",
            "Photo bytes received and committed (tus creation bodies and PATCHes)",
        )?;
        let escalations = IntCounter::new(
            "escalations_total",
            "Escalation steps taken by the scheduler (an overdue issue up one level)",
        )?;
        let process_resident_memory =
            IntGauge::new("process_resident_memory_bytes", "Resident memory (RSS)")?;
        let process_open_fds = IntGauge::new("process_open_fds", "Open file descriptors")?;
        let process_cpu_seconds =
            Counter::new("process_cpu_seconds_total", "CPU time, user and system")?;
        registry.register(Box::new(sync_push_mutations.clone()))?;
        registry.register(Box::new(sync_push_duration.clone()))?;
        registry.register(Box::new(sync_pull_duration.clone()))?;
        registry.register(Box::new(sync_held_backlog.clone()))?;
        registry.register(Box::new(sync_open_conflicts.clone()))?;
        registry.register(Box::new(uploads_in_progress.clone()))?;
        registry.register(Box::new(upload_bytes_received.clone()))?;
        registry.register(Box::new(escalations.clone()))?;
        registry.register(Box::new(process_resident_memory.clone()))?;
        registry.register(Box::new(process_open_fds.clone()))?;
        registry.register(Box::new(process_cpu_seconds.clone()))?;
        Ok(Self {
            registry,
            http_requests,
            http_duration,
            db_connections,
            db_idle_connections,
            sync_push_retries,
            log_lines_dropped,
            sync_push_mutations,
            sync_push_duration,
            sync_pull_duration,
            sync_held_backlog,
            sync_open_conflicts,
            uploads_in_progress,
            upload_bytes_received,
            escalations,
            process_resident_memory,
            process_open_fds,
            process_cpu_seconds,
        })
    }

    /// The Prometheus text exposition of everything registered.
    pub fn render(&self) -> anyhow::Result<String> {
        let (queue_full, write_failed) = log_lines_dropped();
        for (reason, total) in [("queue_full", queue_full), ("write_failed", write_failed)] {
            let counter = self.log_lines_dropped.with_label_values(&[reason]);
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        if let Some(p) = ProcessStats::read() {
            self.process_resident_memory.set(p.rss_bytes);
            self.process_open_fds.set(p.open_fds);
            let cpu = &self.process_cpu_seconds;
            cpu.inc_by((p.cpu_seconds - cpu.get()).max(0.0));
        }
        Ok(prometheus::TextEncoder::new().encode_to_string(&self.registry.gather())?)
    }
}

/// The process's own figures, from /proc/self (Linux).
struct ProcessStats {
    rss_bytes: i64,
    open_fds: i64,
    cpu_seconds: f64,
}

impl ProcessStats {
    fn read() -> Option<Self> {
        // /proc/self/stat: fields after the command name (which may hold spaces) start at `state`;
        // utime and stime are the 12th and 13th of those (fields 14 and 15), in clock ticks; rss
        // (field 24) in pages. Ticks and pages are 100/s and 4 KiB on every Linux we run on
        // (statm/stat give no units; getconf would need libc).
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
        let cpu_seconds = (ticks(11)? + ticks(12)?) / 100.0;
        let rss_pages: i64 = fields.get(21)?.parse().ok()?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count();
        Some(Self {
            rss_bytes: rss_pages * 4096,
            open_fds: i64::try_from(open_fds).unwrap_or(i64::MAX),
            cpu_seconds,
        })
    }
}
