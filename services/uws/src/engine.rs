//! The job engine: creating and changing jobs as UWS 1.1 §2.2 allows, a bounded pool of
//! workers that run QUEUED jobs, results written whole or not at all, WAIT woken by the
//! change itself, leases renewed by a heartbeat, and a reaper for expired leases and
//! destroyed jobs.
//!
//! Durability: every job lives in the [`JobStore`] (the serving database), every result in
//! `<results_dir>/<job id>/`. A process that dies leaves its QUEUED jobs to the next start
//! (any worker claims them) and its EXECUTING jobs to their lease: once it runs out, the
//! reaper of any process makes the job ERROR with a message saying so.

use crate::job::{
    now, parse_destruction, parse_execution_duration, Job, JobFilter, Lease, Millis, Phase,
    ResultRef,
};
use crate::store::JobStore;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::{broadcast, oneshot, Notify};
use vo_common::{ErrorKind, VoError};

/// How a UWS service behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct UwsConfig {
    /// The job list's absolute URL, e.g. `http://127.0.0.1:8080/tap/async` (Location headers
    /// and documents use it).
    pub base_url: String,
    /// Where results are written: `<results_dir>/<job id>/<result id>`.
    pub results_dir: PathBuf,
    /// Jobs run at once by this process.
    pub workers: usize,
    /// EXECUTIONDURATION of a job that gives none, seconds (0: no limit).
    pub default_execution_duration: i64,
    /// The largest EXECUTIONDURATION accepted, seconds (0: no cap).
    pub max_execution_duration: i64,
    /// How long a job lives when DESTRUCTION is not given.
    pub default_lifetime: Duration,
    /// The longest WAIT honoured, seconds.
    pub max_wait: u64,
    /// The most jobs stored at once; a new job beyond it is refused.
    pub max_jobs: u64,
    /// The largest result of one job, bytes; a job writing more ends in ERROR.
    pub max_result_bytes: u64,
    /// The most bytes all kept results may take together; a job that would pass it ends in
    /// ERROR, so the disk never fills.
    pub max_total_result_bytes: u64,
    /// How long a lease lasts without a heartbeat (renewed every third of it).
    pub lease: Duration,
    /// How often the reaper looks for expired leases and destroyed jobs.
    pub reap_every: Duration,
    /// The request header that names the caller (set by an authenticating proxy, e.g.
    /// `X-Auth-Request-User`); `None`: every job is anonymous and visible to all.
    pub owner_header: Option<String>,
    /// Where the file parts of a `multipart/form-data` job request (a TAP upload) are
    /// spooled, and how large they may be; `None`: the service takes no files. A job keeps
    /// its files in `<results_dir>/<job id>/.parts/` until it is deleted or destroyed.
    pub parts: Option<vo_dali::PartLimits>,
}

impl UwsConfig {
    /// Defaults for a service whose job list is at `base_url`, results under `results_dir`:
    /// 4 workers, 1 h execution (at most 24 h), 7 days' lifetime, WAIT up to 60 s, 10,000
    /// jobs, 10 GiB per result and 100 GiB for all, 30 s leases, reaping every 5 s, no owners.
    pub fn new(base_url: &str, results_dir: &Path) -> UwsConfig {
        UwsConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            results_dir: results_dir.to_path_buf(),
            workers: 4,
            default_execution_duration: 3600,
            max_execution_duration: 86_400,
            default_lifetime: Duration::from_secs(7 * 86_400),
            max_wait: 60,
            max_jobs: 10_000,
            max_result_bytes: 10 << 30,
            max_total_result_bytes: 100 << 30,
            lease: Duration::from_secs(30),
            reap_every: Duration::from_secs(5),
            owner_header: None,
            parts: None,
        }
    }
}

/// What runs one kind of job (TAP queries, SODA cutouts). It knows its parameters; the
/// engine knows phases, limits and results.
#[async_trait::async_trait]
pub trait JobRunner: Send + Sync {
    /// Run `job`, writing its results through `results`. Errors become the job's error
    /// summary (phase ERROR). The future is dropped when the job is aborted or runs out of
    /// time: whatever it runs must stop then (a dropped query is cancelled).
    async fn run(&self, job: &Job, results: &ResultDir) -> Result<Vec<ResultRef>, VoError>;
}

/// The folder of one job's results.
#[derive(Debug, Clone)]
pub struct ResultDir {
    dir: PathBuf,
    max_bytes: u64,
}

impl ResultDir {
    /// Start writing result `id` (a plain name) of media type `mime`: a temporary file in the
    /// job's folder, renamed to `id` by [`ResultFile::commit`], so a result is never seen
    /// half-written.
    pub async fn create(&self, id: &str, mime: &str) -> Result<ResultFile, VoError> {
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| {
            VoError::internal(format!(
                "cannot make the result folder {}: {e}",
                self.dir.display()
            ))
        })?;
        let tmp = self.dir.join(format!(".{id}.part"));
        let file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| VoError::internal(format!("cannot write the result: {e}")))?;
        Ok(ResultFile {
            file: Some(file),
            tmp,
            path: self.dir.join(id),
            id: id.to_string(),
            mime: mime.to_string(),
            written: 0,
            max: self.max_bytes,
            failure: None,
        })
    }
}

/// The folder of a job's files (its request's file parts), in the job's folder.
const PARTS_DIR: &str = ".parts";

/// Move (or copy, across file systems) each part into `dir`, named by the hex digits of its
/// UTF-8 name (a part's name is the client's text, never a path).
async fn keep_parts(parts: &[vo_dali::Part], dir: &Path) -> Result<(), VoError> {
    let fail = |e: std::io::Error| VoError::internal(format!("cannot keep the job's files: {e}"));
    tokio::fs::create_dir_all(dir).await.map_err(fail)?;
    for part in parts {
        let to = dir.join(hex_name(&part.name));
        if tokio::fs::rename(part.path(), &to).await.is_err() {
            tokio::fs::copy(part.path(), &to).await.map_err(fail)?;
        }
    }
    Ok(())
}

/// `name` as lowercase hex digits of its UTF-8 bytes.
fn hex_name(name: &str) -> String {
    name.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The name a [`hex_name`] stands for, if it is one.
fn unhex_name(hex: &str) -> Option<String> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

impl ResultDir {
    /// The files of the job's request (see [`Uws::create`]), in no particular order; none
    /// when it had none. Errors: the folder cannot be read.
    pub fn parts(&self) -> Result<Vec<vo_dali::Part>, VoError> {
        let dir = self.dir.join(PARTS_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(VoError::internal(format!(
                    "cannot read the job's files: {e}"
                )))
            }
        };
        let mut parts = Vec::new();
        for entry in entries.flatten() {
            let file = entry.file_name();
            if let Some(name) = file.to_str().and_then(unhex_name) {
                parts.push(vo_dali::Part::kept(&name, entry.path())?);
            }
        }
        Ok(parts)
    }
}

/// A result being written (see [`ResultDir::create`]); removed if dropped uncommitted.
#[derive(Debug)]
pub struct ResultFile {
    file: Option<tokio::fs::File>,
    tmp: PathBuf,
    path: PathBuf,
    id: String,
    mime: String,
    written: u64,
    max: u64,
    failure: Option<VoError>,
}

impl ResultFile {
    /// Append `chunk`; false when the result is over its size limit or cannot be written
    /// (then [`ResultFile::commit`] says why).
    pub async fn write(&mut self, chunk: &[u8]) -> bool {
        if self.failure.is_some() {
            return false;
        }
        self.written += chunk.len() as u64;
        if self.written > self.max {
            self.failure = Some(VoError::new(
                ErrorKind::TooLarge,
                format!(
                    "the result is larger than {} bytes, this service's limit for one job: \
                     ask for fewer rows (MAXREC) or columns",
                    self.max
                ),
            ));
            return false;
        }
        let Some(file) = self.file.as_mut() else {
            return false;
        };
        if let Err(e) = file.write_all(chunk).await {
            self.failure = Some(VoError::internal(format!("cannot write the result: {e}")));
            return false;
        }
        true
    }

    /// Finish: flush and rename to the result's name. Errors: the size limit was passed, or
    /// writing failed (nothing is left behind then).
    pub async fn commit(mut self) -> Result<ResultRef, VoError> {
        if let Some(e) = self.failure.take() {
            return Err(e);
        }
        let mut file = self
            .file
            .take()
            .ok_or_else(|| VoError::internal("result closed"))?;
        file.flush()
            .await
            .map_err(|e| VoError::internal(format!("cannot write the result: {e}")))?;
        file.sync_all()
            .await
            .map_err(|e| VoError::internal(format!("cannot write the result: {e}")))?;
        drop(file);
        tokio::fs::rename(&self.tmp, &self.path)
            .await
            .map_err(|e| VoError::internal(format!("cannot store the result: {e}")))?;
        Ok(ResultRef {
            id: self.id.clone(),
            mime: self.mime.clone(),
            size: self.written,
        })
    }
}

impl Drop for ResultFile {
    fn drop(&mut self) {
        if self.file.is_some() || self.failure.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A random job id: 16 bytes, hex (unguessable, URL-safe).
fn new_id() -> Result<String, VoError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| VoError::internal(format!("no randomness: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// The engine of one UWS service (one job kind).
pub struct Uws {
    store: Arc<dyn JobStore>,
    runner: Arc<dyn JobRunner>,
    kind: String,
    /// Its settings.
    pub config: UwsConfig,
    /// Job ids whose record changed (WAIT listens).
    changed: broadcast::Sender<String>,
    /// A job was queued (an idle worker wakes).
    queued: Notify,
    /// Jobs running in this process: the switch that aborts each.
    running: Mutex<HashMap<String, oneshot::Sender<()>>>,
    /// This process, as lease holder.
    holder: String,
    /// Set when the server shuts down: every WAIT answers at once.
    closing: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for Uws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uws")
            .field("kind", &self.kind)
            .field("config", &self.config)
            .field("holder", &self.holder)
            .finish()
    }
}

/// The workers and reaper of a started engine; they stop when this is dropped.
#[derive(Debug)]
pub struct Running {
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.stop.take());
    }
}

impl Uws {
    /// An engine for jobs of `kind`, stored in `store`, run by `runner`.
    pub fn new(
        kind: &str,
        store: Arc<dyn JobStore>,
        runner: Arc<dyn JobRunner>,
        config: UwsConfig,
    ) -> Arc<Uws> {
        let (changed, _) = broadcast::channel(1024);
        Arc::new(Uws {
            store,
            runner,
            kind: kind.to_string(),
            config,
            changed,
            queued: Notify::new(),
            running: Mutex::new(HashMap::new()),
            holder: format!(
                "pid {} since {}",
                std::process::id(),
                crate::job::iso(now())
            ),
            closing: tokio::sync::watch::channel(false).0,
        })
    }

    /// Start the workers and the reaper on a runtime of their own (a thread), so they run
    /// whatever serves HTTP. They stop when the returned value is dropped.
    pub fn start(self: &Arc<Self>) -> Result<Running, VoError> {
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let uws = self.clone();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(format!("uws-{}", self.kind))
            .enable_all()
            .build()
            .map_err(|e| VoError::internal(format!("cannot start the job runtime: {e}")))?;
        std::thread::Builder::new()
            .name(format!("uws-{}", self.kind))
            .spawn(move || {
                rt.block_on(async move {
                    for _ in 0..uws.config.workers.max(1) {
                        tokio::spawn(uws.clone().worker());
                    }
                    tokio::spawn(uws.clone().reaper());
                    // Changes made by other processes wake WAITs here, and a job queued
                    // elsewhere wakes a worker at once.
                    let store = uws.store.clone();
                    let changed = uws.changed.clone();
                    tokio::spawn(async move { store.watch_changes(changed).await });
                    let mut changes = uws.changed.subscribe();
                    let waker = uws.clone();
                    tokio::spawn(async move {
                        while let Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) =
                            changes.recv().await
                        {
                            waker.queued.notify_one();
                        }
                    });
                    let _ = stop_rx.await;
                });
                rt.shutdown_background();
            })
            .map_err(|e| VoError::internal(format!("cannot start the job thread: {e}")))?;
        Ok(Running {
            stop: Some(stop_tx),
        })
    }

    /// The server is shutting down: every WAIT (now and later) answers at once with the job
    /// as it is, so that no client is left without an answer.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// The absolute URL of job `id`.
    pub fn job_url(&self, id: &str) -> String {
        format!("{}/{id}", self.config.base_url)
    }

    /// The result folder of job `id`, allowed the per-job limit or what is left of the total,
    /// whichever is smaller. Errors: nothing is left of the total.
    async fn results_of(&self, id: &str) -> Result<ResultDir, VoError> {
        let used = self.store.result_bytes(&self.kind).await?;
        let left = self.config.max_total_result_bytes.saturating_sub(used);
        if left == 0 {
            return Err(VoError::new(
                ErrorKind::TooLarge,
                format!(
                    "the service's result storage is full ({used} bytes kept, its limit is {}): \
                     delete finished jobs, or try again once older ones are destroyed",
                    self.config.max_total_result_bytes
                ),
            ));
        }
        Ok(ResultDir {
            dir: self.config.results_dir.join(id),
            max_bytes: self.config.max_result_bytes.min(left),
        })
    }

    /// The file of result `rid` of job `id` (which the caller has been allowed to see).
    pub fn result_path(&self, id: &str, rid: &str) -> PathBuf {
        self.config.results_dir.join(id).join(rid)
    }

    fn announce(&self, id: &str) {
        let _ = self.changed.send(id.to_string());
    }

    /// A new job from its request parameters (UWS 1.1 §2.2.3.1): RUNID, EXECUTIONDURATION,
    /// DESTRUCTION and PHASE (only RUN, which queues it at once) are the job's; the rest are
    /// its parameters, and `parts` its files (moved into the job's folder, where
    /// [`ResultDir::parts`] finds them). Errors: a bad value (named), or the store full.
    pub async fn create(
        &self,
        params: Vec<(String, String)>,
        parts: Vec<vo_dali::Part>,
        owner: Option<String>,
    ) -> Result<Job, VoError> {
        let t = now();
        let mut job = Job {
            id: new_id()?,
            kind: self.kind.clone(),
            run_id: None,
            owner,
            phase: Phase::Pending,
            creation_time: t,
            start_time: None,
            end_time: None,
            execution_duration: self.config.default_execution_duration,
            destruction: t + self.config.default_lifetime.as_millis() as Millis,
            parameters: Vec::new(),
            results: Vec::new(),
            error: None,
            lease: None,
        };
        let mut run = false;
        for (k, v) in params {
            match k.to_ascii_uppercase().as_str() {
                "PHASE" => match v.to_ascii_uppercase().as_str() {
                    "RUN" => run = true,
                    other => {
                        return Err(VoError::usage(format!(
                            "PHASE={other} cannot be given to a new job: only PHASE=RUN"
                        )))
                    }
                },
                "RUNID" if job.run_id.is_some() => {
                    return Err(VoError::usage(
                        "parameter RUNID is given 2 times; it takes one value",
                    ))
                }
                "RUNID" => job.run_id = Some(v),
                "EXECUTIONDURATION" => {
                    job.execution_duration =
                        parse_execution_duration(&v, self.config.max_execution_duration)?
                }
                "DESTRUCTION" => job.destruction = parse_destruction(&v, t)?,
                _ => job.parameters.push((k, v)),
            }
        }
        if run {
            job.phase = Phase::Queued;
        }
        if !parts.is_empty() {
            let dir = self.config.results_dir.join(&job.id).join(PARTS_DIR);
            let kept = keep_parts(&parts, &dir).await;
            if let Err(e) = kept {
                self.remove_results(&job.id).await;
                return Err(e);
            }
        }
        let inserted = self.store.insert_job(&job, self.config.max_jobs).await;
        if !matches!(inserted, Ok(true)) {
            self.remove_results(&job.id).await;
        }
        if !inserted? {
            return Err(VoError::new(
                ErrorKind::Unavailable,
                format!(
                    "this service holds {} jobs, its limit: delete finished jobs, or try again \
                     once older ones are destroyed",
                    self.config.max_jobs
                ),
            ));
        }
        if run {
            self.queued.notify_one();
        }
        Ok(job)
    }

    /// Job `id` as `caller` may see it. Errors: no such job (404); another owner's job (403).
    pub async fn get(&self, id: &str, caller: Option<&str>) -> Result<Job, VoError> {
        let job = self
            .store
            .job(id)
            .await?
            .filter(|j| j.kind == self.kind)
            .ok_or_else(|| {
                VoError::not_found(format!(
                    "there is no job '{id}' (deleted, destroyed, or never made)"
                ))
            })?;
        if let (Some(owner), true) = (&job.owner, self.config.owner_header.is_some()) {
            if caller != Some(owner.as_str()) {
                return Err(VoError::new(
                    ErrorKind::Forbidden,
                    format!("job '{id}' belongs to another user"),
                ));
            }
        }
        Ok(job)
    }

    /// The jobs `filter` selects (the caller's only, when callers are identified).
    pub async fn list(
        &self,
        mut filter: JobFilter,
        caller: Option<&str>,
    ) -> Result<Vec<Job>, VoError> {
        if self.config.owner_header.is_some() {
            filter.owner = Some(caller.map(str::to_string));
        }
        Ok(filter.apply(self.store.all_jobs(&self.kind).await?))
    }

    /// Apply `change` to job `id` if its phase is one of `allowed`, retrying when another
    /// process changed it meanwhile. Errors: no such job, or a phase that does not allow it
    /// (`what` names the change).
    async fn change(
        &self,
        id: &str,
        caller: Option<&str>,
        allowed: &[Phase],
        what: &str,
        change: impl Fn(&mut Job) -> Result<(), VoError>,
    ) -> Result<Job, VoError> {
        for _ in 0..10 {
            let mut job = self.get(id, caller).await?;
            if !allowed.contains(&job.phase) {
                return Err(VoError::usage(format!(
                    "job '{id}' is {}: {what} is possible only while it is {}",
                    job.phase,
                    allowed
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ")
                )));
            }
            let before = job.phase;
            change(&mut job)?;
            if self.store.update_job(&job, &[before]).await? {
                self.announce(id);
                return Ok(job);
            }
        }
        Err(VoError::new(
            ErrorKind::Unavailable,
            format!("job '{id}' keeps changing; try again"),
        ))
    }

    /// PHASE=RUN: a PENDING (or HELD) job is queued.
    pub async fn run(&self, id: &str, caller: Option<&str>) -> Result<Job, VoError> {
        let job = self
            .change(
                id,
                caller,
                &[Phase::Pending, Phase::Held],
                "PHASE=RUN",
                |j| {
                    j.phase = Phase::Queued;
                    Ok(())
                },
            )
            .await?;
        self.queued.notify_one();
        Ok(job)
    }

    /// PHASE=ABORT: a job not yet ended is ABORTED (a running one is stopped).
    pub async fn abort(&self, id: &str, caller: Option<&str>) -> Result<Job, VoError> {
        let job = self
            .change(
                id,
                caller,
                &[
                    Phase::Pending,
                    Phase::Queued,
                    Phase::Executing,
                    Phase::Held,
                    Phase::Suspended,
                ],
                "PHASE=ABORT",
                |j| {
                    j.phase = Phase::Aborted;
                    j.end_time = Some(now());
                    j.lease = None;
                    Ok(())
                },
            )
            .await?;
        self.stop_local(id);
        Ok(job)
    }

    fn stop_local(&self, id: &str) {
        if let Ok(mut running) = self.running.lock() {
            if let Some(stop) = running.remove(id) {
                let _ = stop.send(());
            }
        }
    }

    /// Delete job `id` and its results (a running job is stopped first).
    pub async fn delete(&self, id: &str, caller: Option<&str>) -> Result<(), VoError> {
        self.get(id, caller).await?;
        self.store.delete_job(id).await?;
        self.stop_local(id);
        self.remove_results(id).await;
        self.announce(id);
        Ok(())
    }

    async fn remove_results(&self, id: &str) {
        let dir = self.config.results_dir.join(id);
        if let Err(e) = tokio::fs::remove_dir_all(&dir).await {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot remove a job's results");
            }
        }
    }

    /// DESTRUCTION: a new destruction time (ISO 8601, in the future), in any phase.
    pub async fn set_destruction(
        &self,
        id: &str,
        caller: Option<&str>,
        value: &str,
    ) -> Result<Job, VoError> {
        let t = parse_destruction(value, now())?;
        self.change(id, caller, &Phase::ALL, "DESTRUCTION", move |j| {
            j.destruction = t;
            Ok(())
        })
        .await
    }

    /// EXECUTIONDURATION, while PENDING.
    pub async fn set_execution_duration(
        &self,
        id: &str,
        caller: Option<&str>,
        value: &str,
    ) -> Result<Job, VoError> {
        let d = parse_execution_duration(value, self.config.max_execution_duration)?;
        self.change(
            id,
            caller,
            &[Phase::Pending],
            "changing EXECUTIONDURATION",
            move |j| {
                j.execution_duration = d;
                Ok(())
            },
        )
        .await
    }

    /// New or changed parameters (a parameter given replaces all its earlier values), while
    /// PENDING. UWS's own names (PHASE, RUNID, ...) are handled as on creation.
    pub async fn set_parameters(
        &self,
        id: &str,
        caller: Option<&str>,
        params: Vec<(String, String)>,
    ) -> Result<Job, VoError> {
        let max = self.config.max_execution_duration;
        let t = now();
        let mut run = false;
        let job = self
            .change(id, caller, &[Phase::Pending], "changing parameters", |j| {
                for (k, v) in &params {
                    match k.to_ascii_uppercase().as_str() {
                        "PHASE" if v.eq_ignore_ascii_case("RUN") => {}
                        "PHASE" => {
                            return Err(VoError::usage(format!(
                                "PHASE={v} cannot be set with the parameters: PHASE=RUN runs the \
                                 job; to abort it, POST PHASE=ABORT to the job's /phase"
                            )))
                        }
                        "RUNID" => j.run_id = Some(v.clone()),
                        "EXECUTIONDURATION" => {
                            j.execution_duration = parse_execution_duration(v, max)?
                        }
                        "DESTRUCTION" => j.destruction = parse_destruction(v, t)?,
                        _ => {
                            j.parameters
                                .retain(|(name, _)| !name.eq_ignore_ascii_case(k));
                        }
                    }
                }
                for (k, v) in &params {
                    if !["PHASE", "RUNID", "EXECUTIONDURATION", "DESTRUCTION"]
                        .contains(&k.to_ascii_uppercase().as_str())
                    {
                        j.parameters.push((k.clone(), v.clone()));
                    }
                }
                Ok(())
            })
            .await?;
        if params
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("PHASE") && v == "RUN")
        {
            run = true;
        }
        if run {
            return self.run(id, caller).await;
        }
        Ok(job)
    }

    /// WAIT (UWS 1.1 §2.2.3.2): the job once it is no longer in `phase` (its current phase
    /// when `None`), is no longer active, or `seconds` have passed, whichever comes first.
    /// Woken by the change itself.
    pub async fn wait(
        &self,
        id: &str,
        caller: Option<&str>,
        phase: Option<Phase>,
        seconds: u64,
    ) -> Result<Job, VoError> {
        let mut changes = self.changed.subscribe();
        let mut closing = self.closing.subscribe();
        let job = self.get(id, caller).await?;
        let awaited = phase.unwrap_or(job.phase);
        if !job.phase.is_active() || job.phase != awaited || seconds == 0 || *closing.borrow() {
            return Ok(job);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let heard = tokio::select! {
                heard = tokio::time::timeout_at(deadline, changes.recv()) => heard,
                _ = closing.changed() => return self.get(id, caller).await,
            };
            match heard {
                Err(_) => return self.get(id, caller).await,
                Ok(Ok(changed)) if changed != id => continue,
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                    let job = self.get(id, caller).await?;
                    if job.phase != awaited || !job.phase.is_active() {
                        return Ok(job);
                    }
                }
                Ok(Err(broadcast::error::RecvError::Closed)) => return self.get(id, caller).await,
            }
        }
    }

    async fn worker(self: Arc<Self>) {
        loop {
            let t = now();
            let until = t + self.config.lease.as_millis() as Millis;
            match self
                .store
                .claim_job(&self.kind, &self.holder, t, until)
                .await
            {
                Ok(Some(job)) => {
                    self.announce(&job.id);
                    self.execute(job).await;
                }
                Ok(None) => {
                    // Woken by a job queued here; jobs queued by other processes are found
                    // within a second.
                    let _ =
                        tokio::time::timeout(Duration::from_secs(1), self.queued.notified()).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e.message, "cannot take a queued job");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn execute(&self, mut job: Job) {
        let id = job.id.clone();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        if let Ok(mut running) = self.running.lock() {
            running.insert(id.clone(), stop_tx);
        }
        let results = self.results_of(&id).await;
        let heartbeat = async {
            let every = self.config.lease / 3;
            loop {
                tokio::time::sleep(every).await;
                let until = now() + self.config.lease.as_millis() as Millis;
                match self.store.renew_lease(&id, &self.holder, until).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => tracing::warn!(error = %e.message, job = %id, "cannot renew a lease"),
                }
            }
        };
        let limit = async {
            if job.execution_duration > 0 {
                tokio::time::sleep(Duration::from_secs(job.execution_duration as u64)).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        enum Outcome {
            Done(Result<Vec<ResultRef>, VoError>),
            Stopped,
            TimedOut,
        }
        let run = async {
            match &results {
                Ok(results) => self.runner.run(&job, results).await,
                Err(e) => Err(e.clone()),
            }
        };
        let outcome = tokio::select! {
            r = run => Outcome::Done(r),
            _ = stop_rx => Outcome::Stopped,
            () = heartbeat => Outcome::Stopped,
            () = limit => Outcome::TimedOut,
        };
        if let Ok(mut running) = self.running.lock() {
            running.remove(&id);
        }
        job.end_time = Some(now());
        job.lease = None;
        match outcome {
            Outcome::Stopped => {
                // Aborted or deleted: the record already says so.
                self.remove_results(&id).await;
                return;
            }
            Outcome::Done(Ok(r)) => {
                job.phase = Phase::Completed;
                job.results = r;
            }
            Outcome::Done(Err(e)) => {
                job.phase = Phase::Error;
                job.error = Some(e.message);
            }
            Outcome::TimedOut => {
                job.phase = Phase::Error;
                job.error = Some(format!(
                    "the job ran for its whole EXECUTIONDURATION of {} s and was stopped",
                    job.execution_duration
                ));
            }
        }
        if job.phase != Phase::Completed {
            // Nothing of a failed job is kept.
            self.remove_results(&id).await;
        }
        match self.store.update_job(&job, &[Phase::Executing]).await {
            Ok(true) => {}
            Ok(false) => self.remove_results(&id).await,
            Err(e) => tracing::warn!(error = %e.message, job = %id, "cannot record a job's end"),
        }
        self.announce(&id);
    }

    async fn reaper(self: Arc<Self>) {
        loop {
            if let Err(e) = self.reap().await {
                tracing::warn!(error = %e.message, "the job reaper failed");
            }
            tokio::time::sleep(self.config.reap_every).await;
        }
    }

    /// Destroy jobs whose destruction time has passed (record and results), and end in
    /// ERROR the EXECUTING jobs whose lease ran out (their process died).
    pub async fn reap(&self) -> Result<(), VoError> {
        let t = now();
        for job in self.store.all_jobs(&self.kind).await? {
            if job.destruction <= t {
                if self.store.delete_job(&job.id).await? {
                    self.stop_local(&job.id);
                    self.remove_results(&job.id).await;
                    self.announce(&job.id);
                    tracing::info!(job = %job.id, "destroyed a job at its destruction time");
                }
                continue;
            }
            let expired = job.phase == Phase::Executing
                && job.lease.as_ref().is_none_or(|l: &Lease| l.until < t);
            let here = self
                .running
                .lock()
                .map(|r| r.contains_key(&job.id))
                .unwrap_or(false);
            if expired && !here {
                let mut dead = job.clone();
                let holder = job
                    .lease
                    .as_ref()
                    .map(|l| l.holder.clone())
                    .unwrap_or_default();
                dead.phase = Phase::Error;
                dead.end_time = Some(t);
                dead.lease = None;
                dead.error = Some(format!(
                    "the process that ran this job ({holder}) stopped before it ended: its \
                     lease ran out at {}",
                    job.lease
                        .as_ref()
                        .map(|l| crate::job::iso(l.until))
                        .unwrap_or_default()
                ));
                if self.store.update_job(&dead, &[Phase::Executing]).await? {
                    self.remove_results(&job.id).await;
                    self.announce(&job.id);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::JobStore;

    /// Jobs in memory, for the engine's own tests.
    #[derive(Debug, Default)]
    struct Memory(Mutex<Vec<Job>>);

    #[async_trait::async_trait]
    impl JobStore for Memory {
        async fn insert_job(&self, job: &Job, max_jobs: u64) -> Result<bool, VoError> {
            let mut jobs = self.0.lock().map_err(|_| VoError::internal("poisoned"))?;
            if jobs.len() as u64 >= max_jobs {
                return Ok(false);
            }
            jobs.push(job.clone());
            Ok(true)
        }
        async fn job(&self, id: &str) -> Result<Option<Job>, VoError> {
            let jobs = self.0.lock().map_err(|_| VoError::internal("poisoned"))?;
            Ok(jobs.iter().find(|j| j.id == id).cloned())
        }
        async fn all_jobs(&self, kind: &str) -> Result<Vec<Job>, VoError> {
            let jobs = self.0.lock().map_err(|_| VoError::internal("poisoned"))?;
            Ok(jobs.iter().filter(|j| j.kind == kind).cloned().collect())
        }
        async fn result_bytes(&self, kind: &str) -> Result<u64, VoError> {
            let jobs = self.0.lock().map_err(|_| VoError::internal("poisoned"))?;
            Ok(jobs
                .iter()
                .filter(|j| j.kind == kind)
                .flat_map(|j| j.results.iter().map(|r| r.size))
                .sum())
        }
        async fn update_job(&self, job: &Job, expected: &[Phase]) -> Result<bool, VoError> {
            let mut jobs = self.0.lock().map_err(|_| VoError::internal("poisoned"))?;
            match jobs.iter_mut().find(|j| j.id == job.id) {
                Some(j) if expected.contains(&j.phase) => {
                    *j = job.clone();
                    Ok(true)
                }
                _ => Ok(false),
            }
        }
        async fn delete_job(&self, id: &str) -> Result<bool, VoError> {
            let mut jobs = self.0.lock().map_err(|_| VoError::internal("poisoned"))?;
            let before = jobs.len();
            jobs.retain(|j| j.id != id);
            Ok(jobs.len() < before)
        }
        async fn claim_job(
            &self,
            kind: &str,
            holder: &str,
            now: Millis,
            until: Millis,
        ) -> Result<Option<Job>, VoError> {
            let mut jobs = self.0.lock().map_err(|_| VoError::internal("poisoned"))?;
            let next = jobs
                .iter_mut()
                .filter(|j| j.kind == kind && j.phase == Phase::Queued)
                .min_by_key(|j| j.creation_time);
            Ok(next.map(|j| {
                j.phase = Phase::Executing;
                j.start_time = Some(now);
                j.lease = Some(Lease {
                    holder: holder.to_string(),
                    until,
                });
                j.clone()
            }))
        }
        async fn renew_lease(
            &self,
            id: &str,
            holder: &str,
            until: Millis,
        ) -> Result<bool, VoError> {
            let mut jobs = self.0.lock().map_err(|_| VoError::internal("poisoned"))?;
            match jobs
                .iter_mut()
                .find(|j| j.id == id && j.phase == Phase::Executing)
            {
                Some(j) if j.lease.as_ref().is_some_and(|l| l.holder == holder) => {
                    j.lease = Some(Lease {
                        holder: holder.to_string(),
                        until,
                    });
                    Ok(true)
                }
                _ => Ok(false),
            }
        }
    }

    /// A job that never ends by itself; it counts how many runs were dropped (stopped).
    struct Endless(Arc<std::sync::atomic::AtomicUsize>);

    struct Dropped(Arc<std::sync::atomic::AtomicUsize>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[async_trait::async_trait]
    impl JobRunner for Endless {
        async fn run(&self, _job: &Job, _results: &ResultDir) -> Result<Vec<ResultRef>, VoError> {
            let _guard = Dropped(self.0.clone());
            std::future::pending::<()>().await;
            Ok(vec![])
        }
    }

    async fn until(uws: &Uws, id: &str, phase: Phase) -> Job {
        for _ in 0..200 {
            let j = uws.get(id, None).await.expect("job");
            if j.phase == phase {
                return j;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("job {id} never became {phase}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn execution_duration_and_abort_stop_a_running_job() {
        let dir = std::env::temp_dir().join(format!("vo-uws-test-{}", std::process::id()));
        let stopped = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let uws = Uws::new(
            "test",
            Arc::new(Memory::default()),
            Arc::new(Endless(stopped.clone())),
            UwsConfig::new("http://h/async", &dir),
        );
        let _running = uws.start().expect("start");
        // EXECUTIONDURATION=1: ERROR after about a second, the run stopped.
        let t0 = std::time::Instant::now();
        let job = uws
            .create(
                vec![
                    ("EXECUTIONDURATION".into(), "1".into()),
                    ("PHASE".into(), "RUN".into()),
                ],
                Vec::new(),
                None,
            )
            .await
            .expect("create");
        let ended = until(&uws, &job.id, Phase::Error).await;
        assert!(
            t0.elapsed() >= Duration::from_millis(900),
            "{:?}",
            t0.elapsed()
        );
        assert_eq!(
            ended.error.as_deref(),
            Some("the job ran for its whole EXECUTIONDURATION of 1 s and was stopped")
        );
        assert_eq!(stopped.load(std::sync::atomic::Ordering::SeqCst), 1);
        // ABORT while EXECUTING: ABORTED at once, the run stopped.
        let job = uws
            .create(vec![("PHASE".into(), "RUN".into())], Vec::new(), None)
            .await
            .expect("create");
        until(&uws, &job.id, Phase::Executing).await;
        let aborted = uws.abort(&job.id, None).await.expect("abort");
        assert_eq!(aborted.phase, Phase::Aborted);
        for _ in 0..100 {
            if stopped.load(std::sync::atomic::Ordering::SeqCst) == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(stopped.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(
            uws.get(&job.id, None).await.expect("job").phase,
            Phase::Aborted
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
