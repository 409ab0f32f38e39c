//! Streaming a response body that blocking code writes: a `std::io::Write` on the blocking side
//! (database paging, CSV/XLSX writers) feeds a bounded channel that actix sends as the body, so
//! an export of any size is never held in memory and a slow client slows the writer down.

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Chunks the writer hands over at once.
const CHUNK: usize = 64 * 1024;
/// Chunks in flight between the writer and the socket.
const DEPTH: usize = 8;

/// A writer, a handle to fail the body, and the body they feed.
pub fn channel() -> (ChannelWriter, Aborter, ChannelBody) {
    let (tx, rx) = mpsc::channel(DEPTH);
    (
        ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        },
        Aborter { tx },
        ChannelBody { rx },
    )
}

/// Ends the body with an error: the client sees a broken response, never a complete-looking file
/// that is missing rows. Only what the writer flushed is sent; dropping the writer unflushed
/// sends nothing more.
pub struct Aborter {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
}

impl Aborter {
    pub fn abort(self, reason: String) {
        let _ = self.tx.blocking_send(Err(io::Error::other(reason)));
    }
}

/// The blocking side. Fails with `BrokenPipe` once the client has gone.
pub struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The async side: the response body.
pub struct ChannelBody {
    rx: mpsc::Receiver<Result<Bytes, io::Error>>,
}

impl MessageBody for ChannelBody {
    type Error = io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.rx.poll_recv(cx)
    }
}
