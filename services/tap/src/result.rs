//! The one result stream of every query on every backend: rows from a
//! [`crate::backend::RowStream`] written as a table in the requested format, in chunks of
//! about [`CHUNK`] bytes, with MAXREC overflow (DALI 1.1 §4.4.1: at most MAXREC rows, then
//! `QUERY_STATUS=OVERFLOW`) and a failure while streaming ending the table with
//! `QUERY_STATUS=ERROR`. The chunks go to a [`ChunkSink`]: an HTTP response being streamed,
//! or a file.

use crate::backend::RowStream;
use bytes::Bytes;
use tokio::sync::mpsc;
use vo_common::votable::{QueryStatus, TableWriter};
use vo_common::{FieldMeta, Format, VoError};

/// Bytes gathered before a chunk is handed to the sink.
pub const CHUNK: usize = 64 * 1024;

/// How to write one result.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultPlan {
    /// The output format.
    pub format: Format,
    /// The columns, as the translator derived them.
    pub fields: Vec<FieldMeta>,
    /// The most rows written (MAXREC, as limited by the service).
    pub maxrec: u64,
    /// Whether the query may return more than `maxrec` rows (it then asked for one more, to
    /// know): false when a TOP within MAXREC bounds it.
    pub can_overflow: bool,
    /// INFO elements of the VOTable (e.g. QUERY, MAXREC), in order.
    pub infos: Vec<(String, String)>,
    /// RESOURCE elements after the results (the DataLink service descriptor).
    pub resources: Vec<String>,
    /// Where a format that cannot stream (FITS) writes its files (the result folder).
    pub spill_dir: std::path::PathBuf,
}

/// Where the chunks of a result go.
pub trait ChunkSink: Send {
    /// Take one chunk; false when the receiver is gone (the result is abandoned).
    fn send(&mut self, chunk: Bytes) -> impl std::future::Future<Output = bool> + Send;

    /// The result is whole: send what is held back. False when the receiver is gone.
    fn finish(&mut self) -> impl std::future::Future<Output = bool> + Send {
        std::future::ready(true)
    }
}

/// A [`ChunkSink`] that gzips (RFC 1952) what it is given, at flate2's fastest level, into
/// another sink: `Content-Encoding: gzip` for the text formats when the client accepts it.
pub struct GzipSink<S: ChunkSink> {
    inner: S,
    encoder: flate2::write::GzEncoder<Vec<u8>>,
}

impl<S: ChunkSink> GzipSink<S> {
    /// Gzip into `inner`.
    pub fn new(inner: S) -> Self {
        GzipSink {
            inner,
            encoder: flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()),
        }
    }
}

impl<S: ChunkSink> ChunkSink for GzipSink<S> {
    async fn send(&mut self, chunk: Bytes) -> bool {
        use std::io::Write;
        if self.encoder.write_all(&chunk).is_err() {
            return false;
        }
        let out = std::mem::take(self.encoder.get_mut());
        out.is_empty() || self.inner.send(Bytes::from(out)).await
    }

    async fn finish(&mut self) -> bool {
        if self.encoder.try_finish().is_err() {
            return false;
        }
        let out = std::mem::take(self.encoder.get_mut());
        (out.is_empty() || self.inner.send(Bytes::from(out)).await) && self.inner.finish().await
    }
}

impl ChunkSink for mpsc::Sender<Result<Bytes, std::io::Error>> {
    async fn send(&mut self, chunk: Bytes) -> bool {
        mpsc::Sender::send(self, Ok(chunk)).await.is_ok()
    }
}

/// How a result ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The whole table was written, with this status.
    Written(QueryStatus),
    /// The sink went away first.
    Abandoned,
    /// A format that cannot stream (FITS) could not write its file (a full disk): nothing
    /// was sent.
    Failed(String),
}

/// Write `rows` as a table to `sink` following `plan`. Stops reading (so cancels the query)
/// at overflow, at a failure or when the sink is gone. A format that cannot stream (FITS)
/// is written whole to a file in [`ResultPlan::spill_dir`] first, then sent.
pub async fn write_table(rows: RowStream, plan: ResultPlan, sink: &mut impl ChunkSink) -> Outcome {
    let (status, mut writer, buf) = match write_rows(rows, plan, sink).await {
        Some(done) => done,
        None => return Outcome::Abandoned,
    };
    if !sink.send(Bytes::from(buf)).await {
        return Outcome::Abandoned;
    }
    let sent = match writer.take_file() {
        None => true,
        Some(Err(message)) => return Outcome::Failed(message),
        Some(Ok((file, _))) => send_file(file, sink).await,
    };
    if !sent {
        return Outcome::Abandoned;
    }
    if sink.finish().await {
        Outcome::Written(status)
    } else {
        Outcome::Abandoned
    }
}

/// Write a table in a format that cannot stream (FITS) whole: the file (at its start), its
/// length in bytes and how the query ended, so that it can be sent with a Content-Length.
/// Errors: the file could not be written.
pub async fn write_table_file(
    rows: RowStream,
    plan: ResultPlan,
) -> Result<(std::fs::File, u64, QueryStatus), VoError> {
    let mut nothing = Discard;
    let (status, mut writer, _) = write_rows(rows, plan, &mut nothing)
        .await
        .ok_or_else(|| VoError::internal("the result was abandoned"))?;
    match writer.take_file() {
        Some(Ok((file, len))) => Ok((file, len, status)),
        Some(Err(message)) => Err(VoError::internal(message)),
        None => Err(VoError::internal(
            "this format streams: it is not written to a file",
        )),
    }
}

/// A sink that drops what it is given (the streamed part of a format written to a file,
/// which is empty).
struct Discard;

impl ChunkSink for Discard {
    async fn send(&mut self, _chunk: Bytes) -> bool {
        true
    }
}

/// The rows into the writer (chunks of the streamed formats to `sink`), then the end: the
/// status, the writer (holding the file of a format that cannot stream) and the last bytes,
/// not yet sent. `None`: the sink went away.
async fn write_rows(
    mut rows: RowStream,
    plan: ResultPlan,
    sink: &mut impl ChunkSink,
) -> Option<(QueryStatus, TableWriter, Vec<u8>)> {
    let mut writer = TableWriter::new(plan.format, plan.fields, plan.infos)
        .with_resources(plan.resources)
        .in_dir(&plan.spill_dir);
    // Small at first (most results are a few rows), a whole chunk once rows have filled one.
    let mut buf = Vec::with_capacity(16 * 1024);
    writer.begin(&mut buf);
    let mut status = QueryStatus::Ok;
    'batches: while let Some(batch) = rows.next().await {
        match batch {
            Ok(batch) => {
                for values in batch {
                    if plan.can_overflow && writer.rows_written() == plan.maxrec {
                        status = QueryStatus::Overflow;
                        break 'batches;
                    }
                    writer.row(&values, &mut buf);
                    if buf.len() >= CHUNK {
                        let full = std::mem::replace(&mut buf, Vec::with_capacity(CHUNK + 4096));
                        if !sink.send(Bytes::from(full)).await {
                            return None;
                        }
                    }
                }
            }
            Err(message) => {
                status = QueryStatus::Error(message);
                break;
            }
        }
    }
    drop(rows);
    if plan.format.streams() {
        writer.end(&status, &mut buf);
        return Some((status, writer, buf));
    }
    // A format written whole at the end (FITS) does its file I/O away from the server's
    // threads.
    let ended = status.clone();
    let (writer, buf) = tokio::task::spawn_blocking(move || {
        writer.end(&ended, &mut buf);
        (writer, buf)
    })
    .await
    .ok()?;
    Some((status, writer, buf))
}

/// A whole file as a stream of chunks of at most [`CHUNK`] bytes; a read error is the last
/// item.
pub fn file_chunks(
    file: std::fs::File,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(Some(tokio::fs::File::from_std(file)), |file| async move {
        use tokio::io::AsyncReadExt;
        let mut file = file?;
        let mut chunk = vec![0u8; CHUNK];
        match file.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok(Bytes::from(chunk)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// Send a whole file to `sink` ([`file_chunks`]); false when the sink is gone or the file
/// cannot be read.
async fn send_file(file: std::fs::File, sink: &mut impl ChunkSink) -> bool {
    use futures_util::StreamExt;
    let chunks = file_chunks(file);
    futures_util::pin_mut!(chunks);
    while let Some(chunk) = chunks.next().await {
        let Ok(chunk) = chunk else {
            return false;
        };
        if !sink.send(chunk).await {
            return false;
        }
    }
    true
}
