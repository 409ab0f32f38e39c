//! A TCP proxy that breaks connections the way village links do: at given byte counts from the
//! client, the connection carrying it either **resets** (RST both ways, SO_LINGER 0) or **stalls**
//! (stops forwarding without closing, for a while, then resets: the phone's OS gives up). The
//! answer direction is forwarded untouched. It counts every byte it forwarded to the server, so a
//! test can tell how much a client re-sent.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What happens to the connection that carries the client's `at`-th byte (counted over all
/// connections, so the faults land whichever connection the client reuses).
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Reset { at: u64 },
    Stall { at: u64, for_: Duration },
}

impl Fault {
    fn at(self) -> u64 {
        match self {
            Self::Reset { at } | Self::Stall { at, .. } => at,
        }
    }
}

pub struct FaultyProxy {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Bytes forwarded from clients to the server, over all connections.
    pub upstream_bytes: Arc<AtomicU64>,
    /// Faults applied so far.
    pub faults_applied: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    upstream: String,
    sent: Arc<AtomicU64>,
    applied: Arc<AtomicU64>,
    /// Faults not yet applied, in the order of `at`.
    faults: Mutex<VecDeque<Fault>>,
}

impl FaultyProxy {
    /// Proxies to `upstream` (`host:port`), applying `faults` in order of their byte counts.
    pub async fn start(upstream: String, mut faults: Vec<Fault>) -> Self {
        faults.sort_by_key(|f| f.at());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            upstream,
            sent: Arc::new(AtomicU64::new(0)),
            applied: Arc::new(AtomicU64::new(0)),
            faults: Mutex::new(faults.into()),
        });
        let (upstream_bytes, faults_applied) = (shared.sent.clone(), shared.applied.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&shared.upstream).await {
                        pump(client, server, &shared).await;
                    }
                });
            }
        });
        Self {
            base,
            upstream_bytes,
            faults_applied,
            task,
        }
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(mut client: TcpStream, mut server: TcpStream, shared: &Shared) {
    let (mut up_buf, mut down_buf) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    let fault = {
        let (mut cr, mut cw) = client.split();
        let (mut sr, mut sw) = server.split();
        loop {
            tokio::select! {
                r = cr.read(&mut up_buf) => {
                    let Ok(n) = r else { break None };
                    if n == 0 { break None; }
                    // The next fault, if this read reaches it: forward up to its byte, then apply.
                    let sent = shared.sent.load(Ordering::SeqCst);
                    let next = shared.faults.lock().unwrap().front().copied();
                    let (n, fault) = match next {
                        Some(f) if sent + n as u64 >= f.at() => {
                            shared.faults.lock().unwrap().pop_front();
                            (usize::try_from(f.at().saturating_sub(sent)).unwrap(), Some(f))
                        }
                        _ => (n, None),
                    };
                    if sw.write_all(&up_buf[..n]).await.is_err() { break None; }
                    shared.sent.fetch_add(n as u64, Ordering::SeqCst);
                    if fault.is_some() { break fault; }
                }
                r = sr.read(&mut down_buf) => {
                    let Ok(n) = r else { break None };
                    if n == 0 || cw.write_all(&down_buf[..n]).await.is_err() { break None; }
                }
            }
        }
    };
    let Some(fault) = fault else { return };
    shared.applied.fetch_add(1, Ordering::SeqCst);
    if let Fault::Stall { for_, .. } = fault {
        // Neither side hears anything: no FIN, no RST, no answer.
        tokio::time::sleep(for_).await;
    }
    let _ = client.set_zero_linger();
    let _ = server.set_zero_linger();
}
