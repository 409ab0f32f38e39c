//! The threads that decode photos. A fixed few (`photos.processing_concurrency`, one per core by
//! default) instead of tokio's blocking pool: decoding a 12 MP photo allocates ~40 MB, and with
//! glibc every thread that does so gets its own malloc arena that keeps the memory. On the
//! blocking pool's dozens of threads, 50 concurrent uploads peaked at 354–394 MiB RSS; confined to
//! these threads, big allocations reuse the same few arenas (docs/benchmarks.md, "Photos").

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

pub struct ProcessingPool {
    jobs: Sender<Job>,
}

impl ProcessingPool {
    /// Starts `threads` (at least one) named `photo-N`.
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("photo-{n}"))
                .spawn(move || work(&queue))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `f` on one of the pool's threads and waits (asynchronously) for its result; `None`
    /// if the pool has stopped (a job panicked and took its thread with it, say).
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs.send(job).ok()?;
        rx.await.ok()
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, not while running it.
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        match job {
            // A panicking decoder loses its job (the caller gets `None`), not the thread.
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return, // the pool was dropped
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_pools_threads_at_most_n_at_once() {
        let pool = ProcessingPool::new(2).unwrap();
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut waits = Vec::new();
        for _ in 0..8 {
            let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
            waits.push(pool.run(move || {
                use std::sync::atomic::Ordering::SeqCst;
                let now = running.fetch_add(1, SeqCst) + 1;
                peak.fetch_max(now, SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(20));
                running.fetch_sub(1, SeqCst);
                std::thread::current().name().map(str::to_owned)
            }));
        }
        for name in futures_util::future::join_all(waits).await {
            assert!(name.flatten().unwrap().starts_with("photo-"));
        }
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
