//! Replicas as operators run them (issue 16.10): real `closeout serve` processes on one database,
//! one data directory and one object store, behind a round-robin TCP load balancer. A process can
//! be killed (SIGKILL) mid-request, which an in-process server cannot be.

use crate::TestEnv;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// The real `closeout` binary (one definition: [`crate::server_binary`]).
pub fn server_binary() -> PathBuf {
    crate::server_binary()
}

/// One `closeout serve` process.
pub struct ServerProcess {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `127.0.0.1:PORT`
    pub addr: String,
    pub log: PathBuf,
    child: Child,
    _log_dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts a replica on `env`'s database and data directory (so the same signing key and
    /// upload staging area), with the harness's cheap password hashing and `extra` settings as
    /// `CLOSEOUT_*` variables; returns once `/healthz` answers.
    pub async fn start(env: &TestEnv, extra: &[(&str, String)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("server.log");
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(server_binary());
        cmd.arg("serve")
            // No ./closeout.toml from wherever the tests run.
            .current_dir(log_dir.path())
            .env("CLOSEOUT_LISTEN", &addr)
            .env("CLOSEOUT_DATA_DIR", env.data_dir.path())
            .env("CLOSEOUT_HTTP__WORKERS", "2")
            .env("CLOSEOUT_DATABASE__POOL_SIZE", "4")
            .env("CLOSEOUT_AUTH__ARGON2_MEMORY_KIB", "512")
            .env("CLOSEOUT_AUTH__ARGON2_ITERATIONS", "1")
            .env("CLOSEOUT_LOG__FORMAT", "json")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(out.try_clone().unwrap());
        if let Some(pg) = &env.pg {
            cmd.env("CLOSEOUT_DATABASE_URL", &pg.url);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let server = Self {
            base: format!("http://{addr}"),
            addr,
            log,
            child,
            _log_dir: log_dir,
        };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await
                && r.status().is_success()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "replica on {} did not start: {}",
            server.addr,
            std::fs::read_to_string(&server.log).unwrap_or_default()
        );
    }

    /// SIGKILL: no graceful shutdown, open transactions and connections simply vanish.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process's peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// What the process logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A round-robin TCP load balancer: each new connection goes to the next upstream that accepts
/// it (a dead one is skipped, as a health-checking balancer would). With a client that opens a
/// connection per request, consecutive requests alternate between replicas.
pub struct RoundRobin {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Connections handed to each upstream.
    pub served: Arc<Vec<AtomicUsize>>,
    task: tokio::task::JoinHandle<()>,
}

impl RoundRobin {
    pub async fn start(upstreams: Vec<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served: Arc<Vec<AtomicUsize>> =
            Arc::new(upstreams.iter().map(|_| AtomicUsize::new(0)).collect());
        let next = Arc::new(AtomicUsize::new(0));
        let upstreams = Arc::new(upstreams);
        let counts = served.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let (upstreams, next, counts) = (upstreams.clone(), next.clone(), counts.clone());
                tokio::spawn(async move {
                    let start = next.fetch_add(1, Ordering::SeqCst);
                    for i in 0..upstreams.len() {
                        let k = (start + i) % upstreams.len();
                        if let Ok(mut server) = TcpStream::connect(&upstreams[k]).await {
                            counts[k].fetch_add(1, Ordering::SeqCst);
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            return;
                        }
                    }
                });
            }
        });
        Self { base, served, task }
    }

    pub fn served(&self) -> Vec<usize> {
        self.served
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .collect()
    }
}

impl Drop for RoundRobin {
    fn drop(&mut self) {
        self.task.abort();
    }
}
