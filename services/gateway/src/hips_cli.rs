//! `vogate hips build` and `vogate hips add`: the CLI side of vo-hips: the inputs' time and spectral ranges from
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
            widen(&mut em, row.em_min, row.em_max.or(row.em_min));
            // A start without an exposure time is an instant.
            widen(&mut t, row.t_min, row.t_max.or(row.t_min));
        }
        if em.is_none() {
            // A radio image's rest frequency (RESTFRQ, or the older RESTFREQ), Hz.
            let rest = vo_fits::read_headers_with(f, &["RESTFRQ".into(), "RESTFREQ".into()])
                .ok()
                .and_then(|h| {
                    let first = h.images.first()?;
                    ["RESTFRQ", "RESTFREQ"]
                        .iter()
                        .find_map(|k| first.number(k))
                        .filter(|v| *v > 0.0)
                });
            if let Some(hz) = rest {
                let m = SPEED_OF_LIGHT / hz;
                widen(&mut em, Some(m), Some(m));
            }
        }
    }
    (em, t)
}

/// The speed of light, m/s.
const SPEED_OF_LIGHT: f64 = 299_792_458.0;

pub use vo_hips::properties::regime;

/// Run a build: ranges from the inputs' rows, the progress shown, Ctrl-C honoured.
/// Errors: as [`vo_hips::build`].
pub fn run(inputs: &[PathBuf], mut opts: BuildOptions, terminal: bool) -> Result<Report, String> {
    let files = list_inputs(inputs)?;
    let (em, t) = input_ranges(&files);
    opts.properties.em = opts.properties.em.or(em);
    opts.properties.t = opts.properties.t.or(t);
    if opts.properties.obs_regime.is_none() {
        opts.properties.obs_regime = opts
            .properties
            .em
            .map(|(a, b)| regime((a * b).sqrt()).to_string());
    }
    opts.properties.release_date = release_date();
    opts.properties.builder = builder();
    let cancel = cancel_on_ctrl_c();
    let progress = CliProgress::new(terminal);
    let r = vo_hips::build(&files, &opts, &progress, &cancel);
    progress.finish();
    r
}

/// Add the FITS files `inputs` to the HiPS `out` (`vogate hips add`): their spectral and
/// time ranges from their ObsCore rows, the progress shown, Ctrl-C honoured. With no input,
/// finish an interrupted add. Errors: as [`vo_hips::add()`].
pub fn run_add(
    inputs: &[PathBuf],
    out: &std::path::Path,
    hdu: vo_hips::HduChoice,
    terminal: bool,
) -> Result<Report, String> {
    let files = if inputs.is_empty() {
        Vec::new()
    } else {
        list_inputs(inputs)?
    };
    let (em, t) = input_ranges(&files);
    let opts = vo_hips::AddOptions {
        out: out.to_path_buf(),
        hdu,
        em,
        t,
        release_date: release_date(),
        builder: builder(),
    };
    let cancel = cancel_on_ctrl_c();
    let progress = CliProgress::new(terminal);
    let r = vo_hips::add(&files, &opts, &progress, &cancel);
    progress.finish();
    r
}

/// Now, ISO 8601 UTC to the minute, as `hips_release_date` wants it.
fn release_date() -> String {
    let now = vo_uws::job::iso(vo_uws::job::now());
    format!("{}Z", now.get(..16).unwrap_or(&now))
}

/// `hips_builder`: this vogate.
fn builder() -> String {
    format!("vogate {}", env!("CARGO_PKG_VERSION"))
}

/// A flag that Ctrl-C (or SIGTERM) sets, so the work stops with whole tiles; a second one
/// quits at once.
fn cancel_on_ctrl_c() -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    // A second Ctrl-C (or a handler already set) leaves the default behaviour.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!(
            "vogate: stopping after the tiles being made (Ctrl-C or SIGTERM again to quit now)"
        );
    });
    cancel
}
