//! `vogate hips build`: the CLI side of vo-hips: the inputs' time and spectral ranges from
//! their ObsCore rows (vo-obscore's ingest, as `vogate serve` makes them), a progress bar
//! on a terminal (indicatif) or a log line every few seconds otherwise, and Ctrl-C, which
//! stops the build with whole tiles written (`--resume` finishes it).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vo_hips::build::{list_inputs, BuildOptions, Progress, Report};
use vo_obscore::ingest::{ingest_file, IngestConfig};

/// A progress bar when stderr is a terminal, else a log line at most every 10 seconds.
pub struct CliProgress {
    bar: Option<indicatif::ProgressBar>,
    stage: Mutex<(String, u64, Instant)>,
    done: AtomicU64,
    last_log: Mutex<Instant>,
}

impl CliProgress {
    /// A bar if `terminal`, else log lines.
    pub fn new(terminal: bool) -> CliProgress {
        let bar = terminal.then(|| {
            let b = indicatif::ProgressBar::new(0);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg:24} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b
        });
        CliProgress {
            bar,
            stage: Mutex::new((String::new(), 0, Instant::now())),
            done: AtomicU64::new(0),
            last_log: Mutex::new(Instant::now()),
        }
    }

    /// Clear the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for CliProgress {
    fn stage(&self, name: &str, total: u64) {
        if let Ok(mut s) = self.stage.lock() {
            *s = (name.to_string(), total, Instant::now());
        }
        self.done.store(0, Ordering::Relaxed);
        match &self.bar {
            Some(b) => {
                b.set_message(name.to_string());
                b.set_length(total);
                b.set_position(0);
            }
            None => tracing::info!(stage = name, steps = total, "hips build"),
        }
    }

    fn advance(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(b) = &self.bar {
            b.inc(n);
            return;
        }
        let Ok(mut last) = self.last_log.lock() else {
            return;
        };
        if last.elapsed() >= Duration::from_secs(10) {
            *last = Instant::now();
            if let Ok(s) = self.stage.lock() {
                let rate = done as f64 / s.2.elapsed().as_secs_f64().max(1e-3);
                tracing::info!(
                    stage = %s.0,
                    done,
                    of = s.1,
                    per_second = format!("{rate:.1}"),
                    "hips build"
                );
            }
        }
    }
}

/// A range (low, high).
type Range = Option<(f64, f64)>;

/// The smallest and largest of the inputs' (`em_min`, `em_max`) and (`t_min`, `t_max`)
/// (metres, MJD), from the ObsCore row vogate makes of each file; a file without them adds
/// nothing.
pub fn input_ranges(files: &[PathBuf]) -> (Range, Range) {
    let cfg = IngestConfig {
        authority: "ivo://vogate.local".into(),
        obs_collection: "hips".into(),
        calib_level: 2,
        base_url: String::new(),
        access_url: Default::default(),
        mapping: Arc::new(Default::default()),
    };
    let widen = |r: &mut Range, a: Option<f64>, b: Option<f64>| {
        if let (Some(a), Some(b)) = (a, b) {
            let (lo, hi) = r.unwrap_or((a, b));
            *r = Some((lo.min(a), hi.max(b)));
        }
    };
    let (mut em, mut t) = (None, None);
    for f in files {
        let rel = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Ok(row) = ingest_file(f, &rel, &cfg) {
            widen(&mut em, row.em_min, row.em_max);
            widen(&mut t, row.t_min, row.t_max);
        }
    }
    (em, t)
}

/// Run a build: ranges from the inputs' rows, the progress shown, Ctrl-C honoured.
/// Errors: as [`vo_hips::build`].
pub fn run(inputs: &[PathBuf], mut opts: BuildOptions, terminal: bool) -> Result<Report, String> {
    let files = list_inputs(inputs)?;
    let (em, t) = input_ranges(&files);
    opts.properties.em = opts.properties.em.or(em);
    opts.properties.t = opts.properties.t.or(t);
    let now = vo_uws::job::iso(vo_uws::job::now());
    opts.properties.release_date = format!("{}Z", now.get(..16).unwrap_or(&now));
    opts.properties.builder = format!("vogate {}", env!("CARGO_PKG_VERSION"));
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    // A second Ctrl-C (or a handler already set) leaves the default behaviour.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("vogate: stopping after the tiles being made (Ctrl-C again to quit now)");
    });
    let progress = CliProgress::new(terminal);
    let r = vo_hips::build(&files, &opts, &progress, &cancel);
    progress.finish();
    r
}
