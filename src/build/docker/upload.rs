//! The context as a byte stream for the engine: a blocking task writes the
//! tar into a bounded channel, so at most a few chunks are ever in memory.

use std::io::{self, Write};

use bytes::Bytes;
use futures_util::Stream;

use crate::build::BuildError;
use crate::build::context::{BuildContext, Summary};

/// Size of the chunks the context is streamed in, and how many may wait in
/// the channel: 8 x 256 KiB bounds the memory the context can hold (the
/// 50k-file test measures 19 MiB peak RSS for the whole process).
const CHUNK: usize = 256 * 1024;
const CHUNKS_IN_FLIGHT: usize = 8;

/// The context as a stream of chunks, written by a blocking task; the task
/// returns the summary of what it sent.
pub fn stream_context(
    context: BuildContext,
) -> (
    impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static,
    tokio::task::JoinHandle<Result<Summary, BuildError>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, io::Error>>(CHUNKS_IN_FLIGHT);
    let task = tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let result = context
            .write(writer, &mut |_| {})
            .and_then(|(mut writer, summary)| {
                writer.send().map_err(|source| BuildError::Context {
                    path: context.root.clone(),
                    source,
                })?;
                Ok(summary)
            });
        if let Err(err) = &result {
            let _ = tx.blocking_send(Err(io::Error::other(err.to_string())));
        }
        result
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (stream, task)
}

struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx.blocking_send(Ok(Bytes::from(chunk))).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the engine stopped reading the context",
            )
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
