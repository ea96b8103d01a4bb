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
use vo_common::{FieldMeta, Format};

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
}

/// Write `rows` as a table to `sink` following `plan`. Stops reading (so cancels the query)
/// at overflow, at a failure or when the sink is gone.
pub async fn write_table(
    mut rows: RowStream,
    plan: ResultPlan,
    sink: &mut impl ChunkSink,
) -> Outcome {
    let mut writer =
        TableWriter::new(plan.format, plan.fields, plan.infos).with_resources(plan.resources);
    let mut buf = Vec::with_capacity(CHUNK + 4096);
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
                    if buf.len() >= CHUNK && !sink.send(Bytes::from(std::mem::take(&mut buf))).await
                    {
                        return Outcome::Abandoned;
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
    writer.end(&status, &mut buf);
    if sink.send(Bytes::from(buf)).await && sink.finish().await {
        Outcome::Written(status)
    } else {
        Outcome::Abandoned
    }
}
