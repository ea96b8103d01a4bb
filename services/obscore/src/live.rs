//! Live ObsCore: `ivoa.ObsCore` kept in step with a data tree as files arrive, change and
//! leave (the flow in DESIGN.md: a file lands -> debounced until complete -> header + WCS ->
//! ObsCore row -> one transaction upserts it; a deleted file's row goes the same way).
//!
//! What the ingest knows of each file is a [`FileState`] (path, size, mtime in ns, inode,
//! the fingerprint of the settings that read it, and its row's DID or why it has none),
//! kept by a [`Store`] beside the rows, so a file that has not changed is never opened again,
//! across restarts. The engine ([`Live`]) runs on a thread of its own:
//!
//! 1. a scan: walk the tree, stat every FITS file, read the new and changed ones (headers
//!    only, in parallel with rayon), and write them in batches of [`LiveOptions::batch`]
//!    files, each batch one transaction ([`Store::apply`]); files gone from the tree lose
//!    their rows. Rows appear batch by batch while the scan runs.
//! 2. with [`LiveOptions::watch`], file events (the notify crate: inotify on Linux). A file
//!    counts as complete on its close-after-write event (`Access(Close(Write))`), when it is
//!    moved into the tree, or, with [`LiveOptions::ready_suffix`], when its ready marker
//!    appears; where none of those comes, when its size and mtime have not changed for
//!    [`LiveOptions::settle`]. A file that vo-fits finds short (its data ends before its
//!    headers say) is tried again every [`RETRY`] until it is complete or
//!    [`LiveOptions::short_timeout`] passes, then listed as failed. A queue overflow (notify's
//!    rescan flag) starts a scan at once, and a scan runs every
//!    [`LiveOptions::rescan_every`] as the safety net.
//!
//! A renamed file is a new product: its old row goes and a new one (obs_id and
//! obs_publisher_did from the new path) comes, in one transaction.

use crate::ingest::{
    headers_to_json, is_fits_name, read_product_headers, row_from_headers, IngestConfig, ObsCoreRow,
};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// How often a file found short is tried again.
pub const RETRY: Duration = Duration::from_millis(500);

/// Bumped whenever the rows vogate derives from a header change, so that every file is read
/// again once (its fingerprint no longer matches).
const ROW_VERSION: &str = "rows-1";

/// What the ingest knows of one FITS file of the tree (the table `vogate.obscore_files`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// The file's path relative to the data root, `/`-separated.
    pub path: String,
    /// Size, bytes.
    pub size: u64,
    /// Modification time, ns since 1970-01-01 UTC.
    pub mtime_ns: i64,
    /// Inode number (0 where the platform has none).
    pub inode: u64,
    /// [`config_fingerprint`] of the settings that read it.
    pub config: String,
    /// obs_publisher_did of its ObsCore row; `None` when it gave none.
    pub did: Option<String>,
    /// Why it gave no row (`None` when it has one).
    pub error: Option<String>,
    /// Its headers as read ([`crate::ingest::headers_to_json`]), from which its row is made
    /// again when the mapping changes, without opening it; `None` when they could not be
    /// read.
    pub headers: Option<String>,
}

impl FileState {
    /// The same file as stat'ed: size, mtime and inode.
    fn same_stat(&self, other: &FileState) -> bool {
        self.size == other.size && self.mtime_ns == other.mtime_ns && self.inode == other.inode
    }

    /// The same file, read under the same settings.
    fn same_file(&self, other: &FileState) -> bool {
        self.same_stat(other) && self.config == other.config
    }
}

/// One batch of changes, written by [`Store::apply`] in one transaction, in this order: the
/// rows of the files `deleted_paths` and the states of `forgotten` go, then `rows` are
/// upserted (replacing the row of the same file, and the row of the same
/// obs_publisher_did; index columns included) and `files` upserted (by path).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// ObsCore rows to insert or replace.
    pub rows: Vec<ObsCoreRow>,
    /// Files (paths relative to the data root) whose rows go: gone, renamed, or no longer
    /// readable.
    pub deleted_paths: Vec<String>,
    /// File states to insert or replace.
    pub files: Vec<FileState>,
    /// Paths whose file states go (files gone from the tree).
    pub forgotten: Vec<String>,
}

impl Changes {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
            && self.deleted_paths.is_empty()
            && self.files.is_empty()
            && self.forgotten.is_empty()
    }
}

/// Where the rows and file states live (the database, through vo-tap's Backend, in the
/// gateway). Called from the engine's thread, never from async code.
pub trait Store: Send + Sync {
    /// Every file state, in any order.
    fn files(&self) -> Result<Vec<FileState>, String>;
    /// Write `changes` in one transaction: readers see all of them or none. (Shared, so
    /// that a store writing on another thread need not copy them.)
    fn apply(&self, changes: Arc<Changes>) -> Result<(), String>;
}

/// A fingerprint (16 hex digits, FNV-1a 64) of the settings that shape a row (the data
/// root among them): a file read under other settings has its row made again.
pub fn config_fingerprint(cfg: &IngestConfig, root: &Path) -> String {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let text = format!(
        "{ROW_VERSION}\n{}\n{}\n{}\n{}\n{}\n{:?}\n{}",
        root.display(),
        cfg.authority,
        cfg.obs_collection,
        cfg.calib_level,
        cfg.base_url,
        cfg.access_url,
        cfg.mapping.fingerprint
    );
    crate::mapping::fingerprint(&text)
}

/// How the engine follows the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveOptions {
    /// Follow file events after the first scan (`vogate serve --watch`).
    pub watch: bool,
    /// A suffix (e.g. `.done`) whose file next to a FITS file (`a.fits.done`) says that the
    /// FITS file is complete; with it, a FITS file is read only once its marker exists.
    pub ready_suffix: Option<String>,
    /// How long a file's size and mtime must stay still before it is read, where no
    /// close-after-write event comes (default 2 s).
    pub settle: Duration,
    /// How long a short file is tried again before it is listed as failed (default 120 s).
    pub short_timeout: Duration,
    /// How often the whole tree is scanned again while watching; zero: never (default
    /// 600 s).
    pub rescan_every: Duration,
    /// Files per transaction (default 500); a scan's first batch.
    pub batch: usize,
    /// The largest batch of a scan (default 8192): a scan's batches (and those of rows
    /// made again from stored headers) double from [`LiveOptions::batch`] up to this, so
    /// that its first rows appear soon and a large tree is written in few transactions
    /// (each transaction rewrites the index pages its rows touch: 100,000 files in batches
    /// of 500 take half as long again as in 8192).
    pub scan_batch: usize,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            watch: false,
            ready_suffix: None,
            settle: Duration::from_secs(2),
            short_timeout: Duration::from_secs(120),
            rescan_every: Duration::from_secs(600),
            batch: 500,
            scan_batch: 8192,
        }
    }
}

/// A scan's progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanProgress {
    /// Whether a scan is running.
    pub running: bool,
    /// When the running (or last) scan started.
    pub started: Option<SystemTime>,
    /// FITS files found by its walk so far.
    pub walked: usize,
    /// New or changed files it has to read.
    pub to_read: usize,
    /// Of those, files read so far.
    pub read: usize,
}

/// The last finished scan.
#[derive(Debug, Clone, PartialEq)]
pub struct LastScan {
    /// When it finished.
    pub finished: SystemTime,
    /// How long it took, seconds.
    pub seconds: f64,
    /// FITS files in the tree.
    pub walked: usize,
    /// Files it read (new or changed).
    pub read: usize,
    /// Files that had gone, whose rows it deleted.
    pub deleted: usize,
}

/// What the engine is doing and has done (`/obscore/status`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// The data root.
    pub root: PathBuf,
    /// Whether file events are followed.
    pub watching: bool,
    /// FITS files known in the tree: with a row, failed, or waiting to be complete.
    pub files_seen: usize,
    /// Files opened (headers read) since the engine started.
    pub files_opened: u64,
    /// Rows made again from stored headers (a changed mapping), no file opened.
    pub files_rederived: u64,
    /// Files with an ObsCore row. Counted just after each batch is written, so a query may
    /// see a batch's rows a moment before this counts them.
    pub rows: usize,
    /// Files waiting to be complete (being written, short, or without their ready marker).
    pub waiting: usize,
    /// The running scan, or the last one.
    pub scan: ScanProgress,
    /// Scans finished since start.
    pub scans: u64,
    /// The last finished scan.
    pub last_scan: Option<LastScan>,
    /// Files that gave no row (path relative to the root -> reason).
    pub failed: BTreeMap<String, String>,
    /// The last error of the store or the watcher, if any (cleared by the next success).
    pub error: Option<String>,
}

/// An ISO 8601 UTC time with milliseconds, as UWS writes times.
fn iso(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

impl Status {
    /// The status as JSON: `root`, `watching`, `files_seen`, `files_opened_since_start`,
    /// `rows`, `waiting`, `scan` (`running`, `started`, `walked`, `to_read`, `read`), `scans`,
    /// `last_scan` (`finished`, `seconds`, `walked`, `read`, `deleted`, or null), `failed`
    /// (`[{path, reason}]`) and `error`. Times are ISO 8601 UTC.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "root": self.root.display().to_string(),
            "watching": self.watching,
            "files_seen": self.files_seen,
            "files_opened_since_start": self.files_opened,
            "rows_remade_from_stored_headers": self.files_rederived,
            "rows": self.rows,
            "waiting": self.waiting,
            "scan": {
                "running": self.scan.running,
                "started": self.scan.started.map(iso),
                "walked": self.scan.walked,
                "to_read": self.scan.to_read,
                "read": self.scan.read,
            },
            "scans": self.scans,
            "last_scan": self.last_scan.as_ref().map(|l| serde_json::json!({
                "finished": iso(l.finished),
                "seconds": l.seconds,
                "walked": l.walked,
                "read": l.read,
                "deleted": l.deleted,
            })),
            "failed": self.failed.iter().map(|(p, r)| serde_json::json!({"path": p, "reason": r})).collect::<Vec<_>>(),
            "error": self.error,
        })
    }
}

enum Msg {
    Fs(notify::Result<notify::Event>),
    Stop,
}

/// The live ingest of one data tree, running on its own thread (stopped when dropped).
pub struct Live {
    status: Arc<Mutex<Status>>,
    stop: Arc<AtomicBool>,
    tx: mpsc::Sender<Msg>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").finish_non_exhaustive()
    }
}

impl Live {
    /// Start following `root`: read the store's file states, start the watcher (with
    /// `opts.watch`, before the scan, so that nothing written meanwhile is missed), then scan
    /// and follow events on a thread of its own. Returns at once; rows appear as the scan
    /// reads them. Errors: the store cannot be read, or the watcher cannot watch `root`.
    pub fn start(
        root: &Path,
        cfg: IngestConfig,
        opts: LiveOptions,
        store: Arc<dyn Store>,
    ) -> Result<Live, String> {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let mut engine = Engine::new(root, cfg, opts, store, stop.clone())?;
        let watcher = if engine.opts.watch {
            use notify::Watcher;
            let events = tx.clone();
            let mut w = notify::recommended_watcher(move |e| {
                let _ = events.send(Msg::Fs(e));
            })
            .map_err(|e| format!("cannot watch {}: {e}", root.display()))?;
            w.watch(root, notify::RecursiveMode::Recursive)
                .map_err(|e| format!("cannot watch {}: {e}", root.display()))?;
            Some(w)
        } else {
            None
        };
        let status = engine.status.clone();
        // The scan starts on the new thread; it is running from now on.
        engine.with_status(|s| {
            s.scan.running = true;
            s.scan.started = Some(SystemTime::now());
        });
        let thread = std::thread::Builder::new()
            .name("vogate-live".into())
            .spawn(move || {
                let _watcher = watcher;
                engine.scan(None);
                if engine.opts.watch {
                    engine.follow(rx);
                }
            })
            .map_err(|e| format!("cannot start the ingest thread: {e}"))?;
        Ok(Live {
            status,
            stop,
            tx,
            thread: Some(thread),
        })
    }

    /// One scan of `root` on this thread (`vogate obscore sync`): the new and changed files
    /// read, the gone ones' rows deleted; the status at its end. A short file is not waited
    /// for: it is listed as failed at once (and read again once it changes).
    pub fn sync_once(
        root: &Path,
        cfg: IngestConfig,
        mut opts: LiveOptions,
        store: Arc<dyn Store>,
    ) -> Result<Status, String> {
        opts.watch = false;
        opts.short_timeout = Duration::ZERO;
        let mut engine = Engine::new(root, cfg, opts, store, Arc::new(AtomicBool::new(false)))?;
        engine.scan(None);
        let status = engine.snapshot();
        match &status.error {
            Some(e) => Err(e.clone()),
            None => Ok(status),
        }
    }

    /// Wait until the first scan has ended (or the engine has stopped).
    pub fn wait_scanned(&self) {
        loop {
            let done = self.status.lock().map_or(true, |s| s.scans > 0);
            if done || self.thread.as_ref().is_none_or(|t| t.is_finished()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A copy of the status now.
    pub fn status(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What an event says of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hint {
    /// Closed after writing: complete.
    Complete,
    /// Moved into place (or found by a scan): complete if it is a file; a folder is scanned.
    Arrived,
    /// Created: being written (or a new folder).
    Created,
    /// Written to: being written.
    Activity,
    /// Removed or moved away.
    Gone,
    /// Something happened: look.
    Check,
}

#[derive(Debug, Clone, Copy)]
enum Wait {
    /// Being written: read once size and mtime have been still for `settle`.
    Settling { stat: (u64, i64), due: Instant },
    /// Found short: try again at `due`; failed after `since` + short_timeout.
    Short { since: Instant, due: Instant },
}

impl Wait {
    fn due(&self) -> Instant {
        match self {
            Wait::Settling { due, .. } | Wait::Short { due, .. } => *due,
        }
    }
}

enum Outcome {
    Row(FileState, Box<ObsCoreRow>),
    Failed(FileState),
    Short(String, String),
    Vanished(String),
}

struct Engine {
    root: PathBuf,
    cfg: IngestConfig,
    fingerprint: String,
    opts: LiveOptions,
    store: Arc<dyn Store>,
    stop: Arc<AtomicBool>,
    known: BTreeMap<String, FileState>,
    rows: usize,
    waiting: HashMap<String, Wait>,
    status: Arc<Mutex<Status>>,
    last_scan: Instant,
    store_retry: Option<Instant>,
    /// Paths the last walks could not take (dangling links, loops, names that are not
    /// UTF-8), with why.
    walk_failed: BTreeMap<String, String>,
    /// The DIDs of the rows written since start, by path, and back.
    did_of: HashMap<String, String>,
    path_of: HashMap<String, String>,
}

fn stat_of(meta: &std::fs::Metadata) -> (u64, i64, u64) {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0;
    (meta.len(), mtime_ns, inode)
}

impl Engine {
    fn new(
        root: &Path,
        cfg: IngestConfig,
        opts: LiveOptions,
        store: Arc<dyn Store>,
        stop: Arc<AtomicBool>,
    ) -> Result<Engine, String> {
        let mut known = BTreeMap::new();
        let mut failed = BTreeMap::new();
        let mut rows = 0;
        let mut did_of = HashMap::new();
        let mut path_of = HashMap::new();
        for f in store.files()? {
            if let Some(d) = &f.did {
                rows += 1;
                did_of.insert(f.path.clone(), d.clone());
                path_of.insert(d.clone(), f.path.clone());
            }
            if let Some(e) = &f.error {
                failed.insert(f.path.clone(), e.clone());
            }
            known.insert(f.path.clone(), f);
        }
        let status = Status {
            root: root.to_path_buf(),
            watching: opts.watch,
            files_seen: known.len(),
            rows,
            failed,
            ..Status::default()
        };
        Ok(Engine {
            root: root.to_path_buf(),
            fingerprint: config_fingerprint(&cfg, root),
            cfg,
            opts,
            store,
            stop,
            known,
            rows,
            waiting: HashMap::new(),
            status: Arc::new(Mutex::new(status)),
            last_scan: Instant::now(),
            store_retry: None,
            walk_failed: BTreeMap::new(),
            did_of,
            path_of,
        })
    }

    fn with_status(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }

    fn snapshot(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The counts of the status, from the engine's maps.
    fn publish_counts(&self) {
        let seen = self.known.len()
            + self
                .waiting
                .keys()
                .filter(|k| !self.known.contains_key(*k))
                .count();
        let (rows, waiting) = (self.rows, self.waiting.len());
        self.with_status(|s| {
            s.files_seen = seen;
            s.rows = rows;
            s.waiting = waiting;
        });
    }

    /// The path of `abs` relative to the root, `/`-separated; `None` outside it.
    fn rel_of(&self, abs: &Path) -> Option<String> {
        let rel = abs.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        (!parts.is_empty()).then(|| parts.join("/"))
    }

    fn abs_of(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// With a ready suffix: whether the marker of `rel` is there.
    fn marked(&self, rel: &str) -> bool {
        match &self.opts.ready_suffix {
            Some(sfx) => self.abs_of(&format!("{rel}{sfx}")).exists(),
            None => true,
        }
    }

    /// The state of `rel`, a file not known yet, before it is read (which stats it): size,
    /// mtime and inode 0.
    fn unstated(&self, rel: String) -> FileState {
        FileState {
            path: rel,
            size: 0,
            mtime_ns: 0,
            inode: 0,
            config: self.fingerprint.clone(),
            did: None,
            error: None,
            headers: None,
        }
    }

    /// The state `rel` would have if read now, from its metadata.
    fn state(&self, rel: &str, meta: &std::fs::Metadata) -> FileState {
        let (size, mtime_ns, inode) = stat_of(meta);
        FileState {
            path: rel.to_string(),
            size,
            mtime_ns,
            inode,
            config: self.fingerprint.clone(),
            did: None,
            error: None,
            headers: None,
        }
    }

    /// Scan the whole tree (`under` None) or the folder `under` (relative): read what is new
    /// or changed, forget what has gone.
    fn scan(&mut self, under: Option<&str>) {
        let started = Instant::now();
        let whole = under.is_none();
        let top = match under {
            Some(rel) => self.abs_of(rel),
            None => self.root.clone(),
        };
        if whole {
            self.with_status(|s| {
                s.scan = ScanProgress {
                    running: true,
                    started: Some(SystemTime::now()),
                    ..ScanProgress::default()
                };
            });
        }
        let mut found: Vec<FileState> = Vec::new();
        let mut unreadable: Vec<String> = Vec::new();
        // Paths the walk could not take, with why (listed in the status as failed).
        let mut walk_failed: BTreeMap<String, String> = BTreeMap::new();
        // A folder reached through a symbolic link that leads back into the tree above it
        // (a scan of that folder alone would not see the loop) is not walked.
        if under.is_some() {
            if let Some(reason) = loop_of(&top) {
                tracing::warn!(path = %top.display(), %reason, "not walked");
                if let Some(rel) = self.rel_of(&top) {
                    self.note_walk_failures(under, BTreeMap::from([(rel, reason)]));
                }
                return;
            }
        }
        for entry in walkdir::WalkDir::new(&top).follow_links(true) {
            match entry {
                Ok(e) => {
                    if !e.file_type().is_file() || !is_fits_name(&e.file_name().to_string_lossy()) {
                        continue;
                    }
                    let Some(rel) = self.rel_of(e.path()) else {
                        continue;
                    };
                    if e.path().to_str().is_none() {
                        walk_failed.insert(
                            rel,
                            "its name is not UTF-8 text; vogate serves files with UTF-8 names"
                                .into(),
                        );
                        continue;
                    }
                    if !self.known.contains_key(&rel) {
                        // A file not known yet is read whatever its stat says, and
                        // reading it stats it (through its descriptor, before and after):
                        // no stat here.
                        found.push(self.unstated(rel));
                    } else {
                        match e.metadata() {
                            Ok(meta) => found.push(self.state(&rel, &meta)),
                            Err(err) => {
                                tracing::warn!(path = %e.path().display(), reason = %err, "cannot stat");
                                unreadable.push(rel);
                            }
                        }
                    }
                    if whole && found.len().is_multiple_of(4096) {
                        let n = found.len();
                        self.with_status(|s| s.scan.walked = n);
                    }
                }
                Err(err) => {
                    let path = err.path().map(Path::to_path_buf).unwrap_or(top.clone());
                    tracing::warn!(path = %path.display(), reason = %err, "cannot walk");
                    let dangling = err
                        .io_error()
                        .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound)
                        && std::fs::symlink_metadata(&path).is_ok();
                    let rel = self.rel_of(&path);
                    if let Some(ancestor) = err.loop_ancestor() {
                        // A loop: nothing under it is served (its rows go).
                        if let Some(rel) = rel {
                            walk_failed.insert(
                                rel,
                                format!(
                                    "a symbolic link loop: it leads back to {}, above it",
                                    ancestor.display()
                                ),
                            );
                        }
                    } else if dangling {
                        // Listed when it names a FITS file; other links are no product.
                        if let Some(rel) = rel.filter(|r| is_fits_name(r)) {
                            walk_failed.insert(rel, "a symbolic link to nothing".into());
                        }
                    } else if let Some(rel) = rel {
                        walk_failed.insert(rel.clone(), format!("cannot be read: {err}"));
                        unreadable.push(rel);
                    } else {
                        // The top itself cannot be walked: forget nothing.
                        unreadable.push(String::new());
                    }
                }
            }
        }
        self.note_walk_failures(under, walk_failed);
        // Read in path order: a fresh table's rows come out in that order.
        found.sort_by(|a, b| a.path.cmp(&b.path));
        let walked = found.len();
        // Known files of the scanned part that the walk did not find (and not under a part
        // it could not read) have gone.
        let present: std::collections::HashSet<&str> =
            found.iter().map(|f| f.path.as_str()).collect();
        let prefix = under.map(|u| format!("{u}/"));
        let kept_away = |p: &str| {
            unreadable
                .iter()
                .any(|u| u.is_empty() || p == u || p.starts_with(&format!("{u}/")))
        };
        let gone: Vec<String> = self
            .known
            .keys()
            .filter(|p| {
                prefix
                    .as_ref()
                    .is_none_or(|pre| p.starts_with(pre.as_str()))
            })
            .filter(|p| !present.contains(p.as_str()) && !kept_away(p))
            .cloned()
            .collect();
        drop(present);
        // Unchanged files read under other settings (a changed mapping) are made again from
        // their stored headers when those hold every keyword the mapping reads.
        let mut remake: Vec<(FileState, vo_fits::FileHeaders)> = Vec::new();
        let to_read: Vec<FileState> = found
            .into_iter()
            .filter(|f| {
                !self.known.get(&f.path).is_some_and(|k| k.same_file(f))
                    || self.waiting.contains_key(&f.path)
            })
            .filter(|f| self.marked(&f.path))
            .filter_map(|f| {
                let Some(k) = self.known.get(&f.path) else {
                    return Some(f);
                };
                if !k.same_stat(&f) || self.waiting.contains_key(&f.path) {
                    return Some(f);
                }
                match k
                    .headers
                    .as_deref()
                    .and_then(crate::ingest::headers_from_json)
                {
                    Some((headers, keys))
                        if self.cfg.mapping.keywords.iter().all(|w| keys.contains(w)) =>
                    {
                        let mut again = f;
                        again.headers = k.headers.clone();
                        remake.push((again, headers));
                        None
                    }
                    _ => Some(f),
                }
            })
            .collect();
        if !remake.is_empty() {
            let n = remake.len();
            for chunk in scan_batches(remake, self.opts.batch, self.opts.scan_batch) {
                let cfg = &self.cfg;
                let outcomes: Vec<Outcome> = chunk
                    .par_iter()
                    .map(|(st, headers)| remake_one(cfg, st.clone(), headers))
                    .collect();
                self.settle_outcomes(outcomes, false);
            }
            self.with_status(|s| s.files_rederived += n as u64);
            tracing::info!(files = n, "rows made again from stored headers");
        }
        let n_read = to_read.len();
        if whole {
            self.with_status(|s| {
                s.scan.walked = walked;
                s.scan.to_read = n_read;
            });
        }
        let deleted = gone.len();
        self.forget(gone);
        // Reading and writing overlap: batch k+1 is read (on the rayon pool) while batch k
        // is written.
        let (root, cfg) = (self.root.clone(), self.cfg.clone());
        let mut chunks = scan_batches(to_read, self.opts.batch, self.opts.scan_batch).into_iter();
        let mut ready: Option<Vec<Outcome>> = None;
        loop {
            let next = chunks.next();
            if next.is_none() && ready.is_none() {
                break;
            }
            let stop = self.stop.load(Ordering::SeqCst);
            let (read, ()) = rayon::join(
                || next.filter(|_| !stop).map(|c| read_all(&root, &cfg, c)),
                || {
                    if let Some(done) = ready.take() {
                        let n = done.len();
                        self.settle(done);
                        if whole {
                            self.with_status(|s| s.scan.read += n);
                        }
                    }
                },
            );
            ready = read;
        }
        if whole {
            self.last_scan = Instant::now();
            let seconds = started.elapsed().as_secs_f64();
            tracing::info!(root = %self.root.display(), walked, read = n_read, deleted, seconds, "scanned the data tree");
            self.with_status(|s| {
                s.scan.running = false;
                s.scans += 1;
                s.last_scan = Some(LastScan {
                    finished: SystemTime::now(),
                    seconds,
                    walked,
                    read: n_read,
                    deleted,
                });
            });
        }
        self.publish_counts();
    }

    /// Put the walk's failures under `under` (the whole tree when `None`) in the status,
    /// in place of the last walk's there.
    fn note_walk_failures(&mut self, under: Option<&str>, now: BTreeMap<String, String>) {
        let inside = |p: &str| match under {
            None => true,
            Some(u) => p == u || p.starts_with(&format!("{u}/")),
        };
        let old: Vec<String> = self
            .walk_failed
            .keys()
            .filter(|p| inside(p))
            .cloned()
            .collect();
        self.with_status(|s| {
            for p in &old {
                s.failed.remove(p);
            }
            s.failed
                .extend(now.iter().map(|(k, v)| (k.clone(), v.clone())));
        });
        for p in old {
            self.walk_failed.remove(&p);
        }
        self.walk_failed.extend(now);
    }

    /// Delete the rows and states of `paths` (and of every known file under a path that
    /// was a folder).
    fn forget(&mut self, paths: Vec<String>) {
        let mut changes = Changes::default();
        let mut all = Vec::new();
        for p in paths {
            let under = format!("{p}/");
            all.extend(
                self.known
                    .range(under.clone()..)
                    .take_while(|(k, _)| k.starts_with(&under))
                    .map(|(k, _)| k.clone()),
            );
            self.waiting
                .retain(|k, _| !(k == &p || k.starts_with(&under)));
            all.push(p);
        }
        all.sort();
        all.dedup();
        for p in all {
            if let Some(k) = self.known.get(&p) {
                if k.did.is_some() {
                    changes.deleted_paths.push(p.clone());
                }
                changes.forgotten.push(p);
            }
        }
        if !changes.is_empty() {
            self.commit(changes);
        }
    }

    /// Write `changes`; on success, make its file states (and the forgotten paths) the
    /// engine's knowledge.
    fn commit(&mut self, changes: Changes) {
        let t = Instant::now();
        let changes = Arc::new(changes);
        let applied = self.store.apply(Arc::clone(&changes));
        // The store has let go of its share once it returns.
        let changes = Arc::try_unwrap(changes).unwrap_or_else(|shared| (*shared).clone());
        tracing::debug!(
            rows = changes.rows.len(),
            seconds = t.elapsed().as_secs_f64(),
            "written"
        );
        match applied {
            Ok(()) => {
                let Changes {
                    rows,
                    deleted_paths,
                    files,
                    forgotten,
                } = changes;
                // The DIDs of the rows written, and of none for the files that lost theirs.
                for p in deleted_paths.iter().chain(&forgotten) {
                    if let Some(d) = self.did_of.remove(p) {
                        self.path_of.remove(&d);
                    }
                }
                for s in files.iter().filter(|s| s.did.is_none()) {
                    if let Some(d) = self.did_of.remove(&s.path) {
                        self.path_of.remove(&d);
                    }
                }
                for r in &rows {
                    if let Some(d) = self
                        .did_of
                        .insert(r.path.clone(), r.obs_publisher_did.clone())
                    {
                        self.path_of.remove(&d);
                    }
                    self.path_of
                        .insert(r.obs_publisher_did.clone(), r.path.clone());
                }
                for p in &forgotten {
                    if let Some(old) = self.known.remove(p) {
                        if old.did.is_some() {
                            self.rows = self.rows.saturating_sub(1);
                        }
                    }
                }
                let written: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
                let mut failed_now = Vec::new();
                for s in files {
                    if s.did.is_some() {
                        self.rows += 1;
                    }
                    if let Some(e) = &s.error {
                        failed_now.push((s.path.clone(), e.clone()));
                    }
                    if let Some(old) = self.known.insert(s.path.clone(), s) {
                        if old.did.is_some() {
                            self.rows = self.rows.saturating_sub(1);
                        }
                    }
                }
                self.with_status(|st| {
                    for p in forgotten.iter().chain(&written) {
                        st.failed.remove(p);
                    }
                    st.failed.extend(failed_now);
                    st.error = None;
                });
                self.store_retry = None;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot write ObsCore changes; the tree will be scanned again");
                self.with_status(|st| st.error = Some(e.clone()));
                self.store_retry = Some(Instant::now() + Duration::from_secs(5));
            }
        }
        self.publish_counts();
    }

    /// A DID names one row: when files of this batch, or a file of this batch and one
    /// written before, have the same obs_publisher_did, the file read last keeps the row and
    /// the others give none, listed with the reason (the mapping's DID template should make
    /// each file's DID its own).
    fn one_row_per_did(&mut self, changes: &mut Changes) {
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, r) in changes.rows.iter().enumerate() {
            last.insert(r.obs_publisher_did.as_str(), i);
        }
        let mut losers: Vec<(String, String, String)> = Vec::new(); // (path, did, winner)
        for (i, r) in changes.rows.iter().enumerate() {
            let did = r.obs_publisher_did.as_str();
            let winner = &changes.rows[last[did]].path;
            if last[did] != i {
                losers.push((r.path.clone(), did.to_string(), winner.clone()));
            } else if let Some(p) = self.path_of.get(did) {
                if p != &r.path && !changes.rows.iter().any(|o| &o.path == p) {
                    losers.push((p.clone(), did.to_string(), r.path.clone()));
                }
            }
        }
        if losers.is_empty() {
            return;
        }
        for (path, did, winner) in losers {
            let why = format!(
                "its obs_publisher_did {did} is also that of {winner}, read later, which keeps the row"
            );
            tracing::warn!(%path, reason = %why, "no ObsCore row");
            if let Some(i) = changes
                .rows
                .iter()
                .position(|r| r.path == path && r.obs_publisher_did == did)
            {
                changes.rows.remove(i);
            }
            let base = changes
                .files
                .iter()
                .find(|s| s.path == path)
                .or_else(|| self.known.get(&path))
                .cloned();
            if let Some(mut st) = base {
                st.did = None;
                st.error = Some(why);
                changes.files.retain(|f| f.path != path);
                changes.files.push(st);
            }
        }
    }

    /// Read `files` (their states as stat'ed) in parallel and write what they give in one
    /// transaction.
    fn read(&mut self, files: Vec<FileState>) {
        if files.is_empty() {
            return;
        }
        let outcomes = read_all(&self.root, &self.cfg, files);
        self.settle(outcomes);
    }

    /// Write what reading files gave, in one transaction; a short file waits for another
    /// try, or fails once it has waited too long.
    fn settle(&mut self, outcomes: Vec<Outcome>) {
        self.settle_outcomes(outcomes, true);
    }

    /// [`Engine::settle`]; `opened` says whether the files were opened (not remade from
    /// stored headers).
    fn settle_outcomes(&mut self, outcomes: Vec<Outcome>, opened: bool) {
        // Files opened: a short file tried again is not counted again.
        let n = outcomes
            .iter()
            .filter(|o| match o {
                Outcome::Vanished(_) => false,
                Outcome::Short(p, _) => !matches!(self.waiting.get(p), Some(Wait::Short { .. })),
                _ => true,
            })
            .count() as u64;
        if opened {
            self.with_status(|s| s.files_opened += n);
        }
        let now = Instant::now();
        let mut changes = Changes::default();
        let mut vanished = Vec::new();
        for o in outcomes {
            match o {
                Outcome::Row(st, row) => {
                    // The file's old row, if any, is replaced by path.
                    self.waiting.remove(&st.path);
                    changes.rows.push(*row);
                    changes.files.push(st);
                }
                Outcome::Failed(st) => {
                    self.waiting.remove(&st.path);
                    tracing::warn!(path = %st.path, reason = %st.error.as_deref().unwrap_or(""), "no ObsCore row");
                    if self.known.get(&st.path).is_some_and(|k| k.did.is_some()) {
                        changes.deleted_paths.push(st.path.clone());
                    }
                    changes.files.push(st);
                }
                Outcome::Short(rel, reason) => {
                    let since = match self.waiting.get(&rel) {
                        Some(Wait::Short { since, .. }) => *since,
                        _ => {
                            tracing::warn!(path = %rel, reason = %reason, "waiting for a short file to be complete");
                            now
                        }
                    };
                    if now.duration_since(since) >= self.opts.short_timeout {
                        self.waiting.remove(&rel);
                        let meta = std::fs::metadata(self.abs_of(&rel));
                        if let Ok(meta) = meta {
                            let mut st = self.state(&rel, &meta);
                            st.error = Some(format!(
                                "{reason}; still so after {:.0} s",
                                self.opts.short_timeout.as_secs_f64()
                            ));
                            if self.known.get(&rel).is_some_and(|k| k.did.is_some()) {
                                changes.deleted_paths.push(rel.clone());
                            }
                            changes.files.push(st);
                        }
                    } else {
                        self.waiting.insert(
                            rel,
                            Wait::Short {
                                since,
                                due: now + RETRY,
                            },
                        );
                    }
                }
                Outcome::Vanished(rel) => vanished.push(rel),
            }
        }
        self.one_row_per_did(&mut changes);
        if !changes.is_empty() {
            self.commit(changes);
        }
        if !vanished.is_empty() {
            self.forget(vanished);
        }
        self.publish_counts();
    }

    /// Follow file events until stopped.
    fn follow(&mut self, rx: mpsc::Receiver<Msg>) {
        let mut dirty: Vec<(PathBuf, Hint)> = Vec::new();
        let mut rescan = false;
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            let now = Instant::now();
            let mut next = now + Duration::from_secs(1);
            if let Some(w) = self.waiting.values().map(Wait::due).min() {
                next = next.min(w);
            }
            if let Some(r) = self.store_retry {
                next = next.min(r);
            }
            let first = match rx.recv_timeout(next.saturating_duration_since(now)) {
                Ok(m) => Some(m),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            };
            for m in first
                .into_iter()
                .chain(std::iter::from_fn(|| rx.try_recv().ok()))
            {
                match m {
                    Msg::Stop => return,
                    Msg::Fs(Err(e)) => {
                        tracing::warn!(error = %e, "file watcher error; scanning the tree again");
                        self.with_status(|s| s.error = Some(format!("file watcher: {e}")));
                        rescan = true;
                    }
                    Msg::Fs(Ok(ev)) => {
                        if ev.need_rescan() {
                            tracing::warn!(
                                "the file event queue overflowed; scanning the tree again"
                            );
                            rescan = true;
                        }
                        classify(&ev, &mut dirty);
                    }
                }
                // A burst (thousands of files at once) is taken in slices.
                if dirty.len() >= 20_000 {
                    break;
                }
            }
            let now = Instant::now();
            if self.store_retry.is_some_and(|r| r <= now) {
                rescan = true;
            }
            if !self.opts.rescan_every.is_zero()
                && now.duration_since(self.last_scan) >= self.opts.rescan_every
            {
                rescan = true;
            }
            if rescan {
                rescan = false;
                self.scan(None);
            }
            self.handle(std::mem::take(&mut dirty));
        }
    }

    /// Act on the events of `dirty` (in order) and on the waits that are due.
    fn handle(&mut self, dirty: Vec<(PathBuf, Hint)>) {
        // The last event of each path decides.
        let mut last: BTreeMap<String, Hint> = BTreeMap::new();
        for (abs, hint) in dirty {
            if let Some(rel) = self.rel_of(&abs) {
                last.insert(rel, hint);
            }
        }
        let now = Instant::now();
        let mut read_now: BTreeMap<String, FileState> = BTreeMap::new();
        let mut gone = Vec::new();
        let mut walk_notes: Vec<(String, bool)> = Vec::new();
        let mut folders = Vec::new();
        for (rel, hint) in last {
            // A ready marker stands for its FITS file.
            if let Some(sfx) = &self.opts.ready_suffix {
                if let Some(target) = rel.strip_suffix(sfx.as_str()) {
                    if hint != Hint::Gone && is_fits_name(target) {
                        if let Ok(meta) = std::fs::metadata(self.abs_of(target)) {
                            read_now.insert(target.to_string(), self.state(target, &meta));
                        }
                    }
                    continue;
                }
            }
            let meta = std::fs::metadata(self.abs_of(&rel));
            let meta = match meta {
                Err(_) => {
                    // Gone; or a symbolic link to nothing, listed as failed (after its
                    // row, if any, goes).
                    let dangling =
                        is_fits_name(&rel) && std::fs::symlink_metadata(self.abs_of(&rel)).is_ok();
                    walk_notes.push((rel.clone(), dangling));
                    gone.push(rel);
                    continue;
                }
                Ok(m) => m,
            };
            if meta.is_dir() {
                if hint != Hint::Gone && hint != Hint::Activity {
                    folders.push(rel);
                }
                continue;
            }
            if !meta.is_file() || !is_fits_name(&rel) {
                continue;
            }
            let st = self.state(&rel, &meta);
            match hint {
                Hint::Complete | Hint::Arrived | Hint::Check | Hint::Gone => {
                    if self.marked(&rel) {
                        read_now.insert(rel, st);
                    }
                }
                Hint::Created | Hint::Activity => {
                    if self.opts.ready_suffix.is_none() {
                        self.waiting.insert(
                            rel,
                            Wait::Settling {
                                stat: (st.size, st.mtime_ns),
                                due: now + self.opts.settle,
                            },
                        );
                    }
                }
            }
        }
        // Waits that are due.
        let due: Vec<(String, Wait)> = self
            .waiting
            .iter()
            .filter(|(k, w)| w.due() <= now && !read_now.contains_key(*k))
            .map(|(k, w)| (k.clone(), *w))
            .collect();
        for (rel, w) in due {
            let Ok(meta) = std::fs::metadata(self.abs_of(&rel)) else {
                gone.push(rel);
                continue;
            };
            let st = self.state(&rel, &meta);
            match w {
                Wait::Settling { stat, .. } if stat != (st.size, st.mtime_ns) => {
                    self.waiting.insert(
                        rel,
                        Wait::Settling {
                            stat: (st.size, st.mtime_ns),
                            due: now + self.opts.settle,
                        },
                    );
                }
                _ => {
                    read_now.insert(rel, st);
                }
            }
        }
        if !gone.is_empty() {
            self.forget(gone);
        }
        for (rel, dangling) in walk_notes {
            let mut now = BTreeMap::new();
            if dangling {
                now.insert(rel.clone(), "a symbolic link to nothing".to_string());
            }
            self.note_walk_failures(Some(&rel), now);
        }
        for f in folders {
            self.scan(Some(&f));
        }
        // Unchanged files are not read again (a second event for a file already read), but
        // a waiting one always is.
        let files: Vec<FileState> = read_now
            .into_values()
            .filter(|st| {
                self.waiting.contains_key(&st.path)
                    || !self.known.get(&st.path).is_some_and(|k| k.same_file(st))
            })
            .collect();
        for chunk in files.chunks(self.opts.batch.max(1)) {
            self.read(chunk.to_vec());
        }
        self.publish_counts();
    }
}

/// `files` cut into a scan's batches: the first of `first` files, each next one twice the
/// one before up to `most`, and the last one of `first` files again (both at least 1).
/// Reading batch k + 1 overlaps writing batch k, so the first read and the last write run
/// alone: a small batch at each end keeps those short.
fn scan_batches<T>(files: Vec<T>, first: usize, most: usize) -> Vec<Vec<T>> {
    let first = first.max(1);
    let most = most.max(first);
    let mut sizes = Vec::new();
    let (mut size, mut left) = (first, files.len());
    while left > 0 {
        let take = size.min(left);
        sizes.push(take);
        left -= take;
        size = (size * 2).min(most);
    }
    // The last batch, when larger than two first ones, gives its last `first` files to a
    // batch of their own.
    if let Some(last) = sizes.last_mut().filter(|l| **l > 2 * first) {
        *last -= first;
        sizes.push(first);
    }
    let mut rest = files.into_iter();
    sizes
        .into_iter()
        .map(|n| rest.by_ref().take(n).collect())
        .collect()
}

/// Why the folder `dir` must not be walked: it is (through symbolic links) the folder
/// above it, or one above that, so walking it would walk the tree again, forever.
fn loop_of(dir: &Path) -> Option<String> {
    let target = std::fs::canonicalize(dir).ok()?;
    let parent = std::fs::canonicalize(dir.parent()?).ok()?;
    parent.starts_with(&target).then(|| {
        format!(
            "a symbolic link loop: it leads back to {}, above it",
            target.display()
        )
    })
}

/// Turn one notify event into (path, hint) pairs.
fn classify(ev: &notify::Event, out: &mut Vec<(PathBuf, Hint)>) {
    use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};
    let all = |hint: Hint, out: &mut Vec<(PathBuf, Hint)>| {
        out.extend(ev.paths.iter().map(|p| (p.clone(), hint)));
    };
    match ev.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => all(Hint::Complete, out),
        EventKind::Access(_) => {}
        EventKind::Create(_) => all(Hint::Created, out),
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) => all(Hint::Gone, out),
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => all(Hint::Arrived, out),
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            if let [from, to] = ev.paths.as_slice() {
                out.push((from.clone(), Hint::Gone));
                out.push((to.clone(), Hint::Arrived));
            } else {
                all(Hint::Check, out);
            }
        }
        EventKind::Modify(ModifyKind::Name(_)) => all(Hint::Check, out),
        EventKind::Modify(ModifyKind::Metadata(_)) => {}
        EventKind::Modify(_) => all(Hint::Activity, out),
        EventKind::Remove(_) => all(Hint::Gone, out),
        EventKind::Any | EventKind::Other => all(Hint::Check, out),
    }
}

/// Read `files` (under `root`) in parallel on the rayon pool.
fn read_all(root: &Path, cfg: &IngestConfig, files: Vec<FileState>) -> Vec<Outcome> {
    let t = Instant::now();
    let n = files.len();
    let outcomes: Vec<Outcome> = files
        .into_par_iter()
        .map(|st| read_one(root, cfg, st))
        .collect();
    tracing::debug!(files = n, seconds = t.elapsed().as_secs_f64(), "read");
    outcomes
}

/// Read one file: its row, why it gives none, that it is short, or that it has gone. The
/// state kept is the file's stat through its descriptor just after it was opened; a file
/// whose stat differs just after it was read (still being written) is tried again.
fn read_one(root: &Path, cfg: &IngestConfig, mut st: FileState) -> Outcome {
    let abs = root.join(&st.path);
    let unreadable = |st: FileState, e: std::io::Error| match std::fs::metadata(&abs) {
        Ok(meta) => {
            // Kept with its stat (by path), so that it is read again only once it changes.
            let mut st = st;
            (st.size, st.mtime_ns, st.inode) = stat_of(&meta);
            st.error = Some(vo_fits::Incomplete::Unreadable(e.to_string()).to_string());
            Outcome::Failed(st)
        }
        Err(_) => Outcome::Vanished(st.path),
    };
    let file = match std::fs::File::open(&abs) {
        Ok(f) => f,
        Err(e) => return unreadable(st, e),
    };
    let before = match file.metadata() {
        Ok(m) => stat_of(&m),
        Err(e) => return unreadable(st, e),
    };
    (st.size, st.mtime_ns, st.inode) = before;
    let (layouts, cards) = match vo_fits::check_open_file_with_headers(&file, before.0) {
        Err(e) if e.is_short() => return Outcome::Short(st.path, e.to_string()),
        Err(e) => {
            st.error = Some(e.to_string());
            return Outcome::Failed(st);
        }
        Ok(l) => l,
    };
    let headers = read_product_headers(&abs, &layouts, cards.as_deref(), cfg);
    match file.metadata() {
        // Unlinked while it was read (deleted, or replaced by another file renamed onto
        // its name): tried again, which finds the file now there or that it has gone.
        Ok(meta) if std::os::unix::fs::MetadataExt::nlink(&meta) == 0 => {
            return Outcome::Short(
                st.path,
                "it was deleted or replaced while it was read".into(),
            )
        }
        Ok(meta) if stat_of(&meta) == before => {}
        Ok(_) => return Outcome::Short(st.path, "it changed while it was read".into()),
        Err(e) => return unreadable(st, e),
    }
    drop(file);
    let headers = match headers {
        Ok(h) => h,
        Err(e) => {
            st.error = Some(e);
            return Outcome::Failed(st);
        }
    };
    st.headers = Some(headers_to_json(&headers, &cfg.mapping.keywords));
    row_outcome(&headers, cfg, st)
}

/// Make the row of an unchanged file again from its stored headers.
fn remake_one(cfg: &IngestConfig, mut st: FileState, headers: &vo_fits::FileHeaders) -> Outcome {
    st.did = None;
    st.error = None;
    row_outcome(headers, cfg, st)
}

/// The outcome of a file whose headers are `headers`.
fn row_outcome(headers: &vo_fits::FileHeaders, cfg: &IngestConfig, mut st: FileState) -> Outcome {
    match row_from_headers(headers, &st.path, st.size, cfg) {
        Ok(row) => {
            st.did = Some(row.obs_publisher_did.clone());
            Outcome::Row(st, Box::new(row))
        }
        Err(e) => {
            st.error = Some(e);
            Outcome::Failed(st)
        }
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    fn states(n: usize) -> Vec<FileState> {
        (0..n)
            .map(|i| FileState {
                path: format!("f{i:05}.fits"),
                size: 2880,
                mtime_ns: 0,
                inode: i as u64,
                config: String::new(),
                did: None,
                error: None,
                headers: None,
            })
            .collect()
    }

    #[test]
    fn a_scan_s_batches_double_up_to_the_largest_end_small_and_keep_the_order() {
        let sizes = |n, first, most| -> Vec<usize> {
            scan_batches(states(n), first, most)
                .iter()
                .map(Vec::len)
                .collect()
        };
        assert_eq!(sizes(10_000, 500, 8192), [500, 1000, 2000, 4000, 2000, 500]);
        assert_eq!(
            sizes(30_000, 500, 8192),
            [500, 1000, 2000, 4000, 8000, 8192, 5808, 500]
        );
        assert_eq!(sizes(3, 500, 8192), [3]);
        assert_eq!(sizes(1400, 500, 8192), [500, 900]);
        assert_eq!(sizes(1600, 500, 8192), [500, 1000, 100]);
        assert_eq!(sizes(2700, 500, 8192), [500, 1000, 700, 500]);
        assert!(sizes(0, 500, 8192).is_empty());
        // A largest batch below the first is the first; zero is one.
        assert_eq!(sizes(5, 2, 1), [2, 2, 1]);
        assert_eq!(sizes(3, 0, 0), [1, 1, 1]);
        let paths: Vec<String> = scan_batches(states(7000), 500, 8192)
            .into_iter()
            .flatten()
            .map(|s| s.path)
            .collect();
        assert_eq!(
            paths,
            states(7000).into_iter().map(|s| s.path).collect::<Vec<_>>()
        );
    }
}
