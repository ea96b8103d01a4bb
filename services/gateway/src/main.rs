//! The `vogate` command: `vogate serve [--config FILE] [--db URL] [--data DIR] [--workdir DIR]
//! [--bind ADDR] [--base-url URL] [--watch]`; `vogate obscore sync DIR [--db URL]`; `vogate schema check FILE...`; `vogate schema load FILE...
//! [--db URL] [--metadata-only]`; `vogate load TABLE FILE [--db URL]`; `vogate fits
//! cut-header FILE [--hdu N] X0 Y0 NX NY`; `vogate fits cut FILE [--hdu N] X0 Y0 NX NY`.

use actix_web::{App, HttpServer};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use vo_common::config::FileConfig;
use vogate::settings::{resolve, Flags};

/// vogate: IVOA data-access services (TAP, ObsCore) in one binary.
#[derive(Debug, Parser)]
#[command(name = "vogate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest the data tree into ivoa.ObsCore and serve TAP over it.
    Serve {
        /// TOML configuration file (see vogate.example.toml); flags override it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Database URL: sqlite:PATH (the embedded default: sqlite:<workdir>/vogate.db) or
        /// postgres://USER@HOST:PORT/DB (PostgreSQL 15+ with pgSphere).
        #[arg(long)]
        db: Option<String>,
        /// Root of the FITS data tree (read only). Without it, a demo sky is written into the
        /// workdir and served.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Working directory for the database and anything vogate writes (default ./vogate-work).
        #[arg(long)]
        workdir: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<String>,
        /// Public base URL of the service (default http://<bind>).
        #[arg(long)]
        base_url: Option<String>,
        /// Follow the data tree while serving: files that arrive, change, are renamed or
        /// leave are brought into ivoa.ObsCore as they do (see `[watch]` in the config).
        #[arg(long)]
        watch: bool,
        /// A local copy of Aladin Lite for the landing page's sky view: npm aladin-lite's
        /// dist/aladin.js, or the folder `npm install aladin-lite` ran in (default: the
        /// script from its public URL).
        #[arg(long)]
        aladin_lite: Option<PathBuf>,
    },
    /// Felis schema files: check them, or publish them (tables and TAP_SCHEMA rows).
    Schema {
        #[command(subcommand)]
        action: SchemaAction,
    },
    /// ivoa.ObsCore and the data tree.
    Obscore {
        #[command(subcommand)]
        action: ObscoreAction,
    },
    /// HiPS maps: `vogate hips build` tiles FITS images into a HiPS 1.0 (FITS tiles, Allsky,
    /// MOC, properties).
    Hips {
        #[command(subcommand)]
        action: Box<HipsAction>,
    },
    /// FITS tools: the header of a cut of an image HDU (what a cutout's header will be).
    Fits {
        #[command(subcommand)]
        action: FitsAction,
    },
    /// Load rows into a published table from a CSV file with a header line (types checked
    /// against TAP_SCHEMA; nothing is loaded when a value is bad).
    Load {
        /// The table, as published (`schema.table`).
        table: String,
        /// The CSV file.
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ObscoreAction {
    /// Bring ivoa.ObsCore in step with a data tree once: every file's row written, the rows
    /// of files no longer there deleted (a server may be serving the database meanwhile).
    Sync {
        /// Root of the FITS data tree (read only): the server's.
        dir: PathBuf,
        #[command(flatten)]
        db: DbArgs,
        /// The server's listen address, when its base URL comes from it (as `serve`).
        #[arg(long)]
        bind: Option<String>,
        /// The server's public base URL (as `serve`), which access_url values start with.
        #[arg(long)]
        base_url: Option<String>,
    },
}

/// The settings of a command that only needs the database (`--config`, `--db`,
/// `--workdir`).
fn db_settings(db: DbArgs) -> Result<vogate::settings::Settings, ExitCode> {
    let flags = Flags {
        db: db.db,
        workdir: db.workdir,
        ..Default::default()
    };
    settings_from(db.config, flags)
}

/// Where the database is, as for `vogate serve`.
#[derive(Debug, clap::Args)]
struct DbArgs {
    /// TOML configuration file (its db, workdir and [postgres] settings are used).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Database URL: sqlite:PATH or postgres://USER@HOST:PORT/DB (default:
    /// sqlite:<workdir>/vogate.db).
    #[arg(long)]
    db: Option<String>,
    /// Working directory (default ./vogate-work).
    #[arg(long)]
    workdir: Option<PathBuf>,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum HipsAction {
    /// Build a HiPS 1.0 with FITS tiles from FITS images: every image HDU with a celestial
    /// WCS (every projection vo-fits reads, SIP and DSS plates), BSCALE/BZERO, BLANK and NaN,
    /// tile-compressed files. Bad files are reported and skipped.
    Build {
        /// The HiPS directory to write (made if missing; a fresh build replaces its tiles).
        #[arg(long)]
        out: PathBuf,
        /// Input FITS files, or directories searched for them (.fits, .fit, .fts, also .gz
        /// and .fz).
        #[arg(long = "in", num_args = 1.., required_unless_present = "from_obscore", conflicts_with = "from_obscore")]
        inputs: Vec<PathBuf>,
        /// Instead of --in: the files of the ObsCore rows this ADQL query selects (it must
        /// return obs_publisher_did), from the database of --config/--db/--workdir, under
        /// --data.
        #[arg(long)]
        from_obscore: Option<String>,
        /// With --from-obscore: the data tree the rows' files lie in (default: the demo sky
        /// in the workdir).
        #[arg(long, requires = "from_obscore")]
        data: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
        /// The deepest tile order (default: the first whose pixel is at least as fine as the
        /// finest input pixel, at least 3).
        #[arg(long)]
        order: Option<u8>,
        /// The HiPS frame: equatorial or galactic.
        #[arg(long, default_value = "equatorial")]
        frame: String,
        /// Tile width in pixels (a power of two, 8 to 4096).
        #[arg(long, default_value_t = 512)]
        tile_width: u32,
        /// How overlapping images combine: mean, fading (weighted by the distance to each
        /// image's edge) or first.
        #[arg(long, default_value = "mean")]
        overlay: String,
        /// Which HDUs are inputs: an HDU number (0 is the primary) or `science` (every image
        /// HDU with a WCS except mask, variance and error planes).
        #[arg(long, default_value = "science")]
        hdu: String,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// obs_title (default: the output directory's name).
        #[arg(long)]
        title: Option<String>,
        /// creator_did, the HiPS's IVOA identifier (default: ivo://vogate.local/P/<title>).
        #[arg(long)]
        id: Option<String>,
        /// obs_description.
        #[arg(long)]
        description: Option<String>,
        /// obs_regime (Radio, Millimeter, Infrared, Optical, UV, EUV, X-ray, Gamma-ray).
        #[arg(long)]
        regime: Option<String>,
        /// prov_progenitor: where the images come from.
        #[arg(long)]
        progenitor: Option<String>,
        /// Continue an interrupted build of the same inputs and options: the tiles it wrote
        /// are kept.
        #[arg(long)]
        resume: bool,
        /// Tile formats, comma-separated: fits (always made), png (transparent where there is
        /// no data), jpeg.
        #[arg(long, default_value = "fits")]
        formats: String,
        /// The cut of PNG and JPEG tiles: "min max [linear|log|sqrt|asinh]" (default: the
        /// 0.5 and 99.5 percentiles of the data, linear).
        #[arg(long)]
        pixel_cut: Option<String>,
    },
    /// Add FITS images to a HiPS `vogate hips build` made: only the tiles they touch are
    /// remade (mean and fading overlays weighted with what is there, through the weights
    /// kept beside the tiles), then the lower orders above them, Allsky, the MOC,
    /// properties and the PNG/JPEG tiles (with the HiPS's pixel cut). The result is the
    /// HiPS a build of all the images would give. Run with no --in to finish an add that
    /// was interrupted.
    Add {
        /// The HiPS directory.
        #[arg(long)]
        out: PathBuf,
        /// The new FITS files, or directories searched for them. Files already in the HiPS
        /// are refused.
        #[arg(long = "in", num_args = 1..)]
        inputs: Vec<PathBuf>,
        /// Which HDUs are inputs: an HDU number (0 is the primary) or `science`.
        #[arg(long, default_value = "science")]
        hdu: String,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
}

#[derive(Debug, Subcommand)]
enum FitsAction {
    /// Write to stdout the header (whole 2880-byte blocks, no data) of the cut: reference
    /// pixels (CRPIXj, CRPIXja), LTVj and CNPIXj moved, every other card kept.
    CutHeader(CutArgs),
    /// Write to stdout the cut (all planes of a cube) as a FITS file: the header of
    /// `cut-header` and the stored values (BITPIX, BSCALE, BZERO, BLANK kept).
    Cut(CutArgs),
}

/// The cut of image HDU `--hdu` whose first pixel is (x0 + 1, y0 + 1) and which is nx x ny
/// pixels.
#[derive(Debug, clap::Args)]
struct CutArgs {
    /// The FITS file.
    file: PathBuf,
    /// The HDU, from 0.
    #[arg(long, default_value_t = 0)]
    hdu: usize,
    /// Pixel offset along NAXIS1 (0: the cut starts at the first column).
    x0: u64,
    /// Pixel offset along NAXIS2.
    y0: u64,
    /// Columns of the cut.
    nx: u64,
    /// Rows of the cut.
    ny: u64,
}

/// The header of the image HDU of `a` and the header of its cut, or the message why there
/// is none and the exit code.
fn cut_of(a: &CutArgs) -> Result<(vo_fits::ImageCards, vo_fits::ImageCards), (String, u8)> {
    let (x0, y0, nx, ny) = (a.x0, a.y0, a.nx, a.ny);
    let cards = vo_fits::ImageCards::read(&a.file, a.hdu)
        .map_err(|e| (format!("{}: {e}", a.file.display()), 1))?;
    if cards.naxis.len() < 2 {
        return Err((
            format!(
                "{}: HDU {} holds no image (NAXIS = {}); the image may be in an extension (--hdu 1)",
                a.file.display(),
                a.hdu,
                cards.naxis.len()
            ),
            2,
        ));
    }
    let (w, h) = (cards.naxis[0], cards.naxis[1]);
    if nx == 0 || ny == 0 {
        return Err((
            format!("the cut must be at least 1 x 1 pixel, not {nx} x {ny}"),
            2,
        ));
    }
    if x0.saturating_add(nx) > w || y0.saturating_add(ny) > h {
        return Err((
            format!("the cut {nx} x {ny} at ({x0}, {y0}) is not inside the {w} x {h} image"),
            2,
        ));
    }
    let cut = cards
        .cut(&[x0, y0], &[nx, ny])
        .map_err(|e| (format!("{}: {e}", a.file.display()), 1))?;
    Ok((cards, cut))
}

fn fits_command(action: FitsAction) -> ExitCode {
    use std::io::Write;
    let (args, whole) = match &action {
        FitsAction::CutHeader(a) => (a, false),
        FitsAction::Cut(a) => (a, true),
    };
    let (cards, cut) = match cut_of(args) {
        Ok(c) => c,
        Err((e, code)) => {
            eprintln!("vogate: {e}");
            return ExitCode::from(code);
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = if whole {
        let section = vo_fits::Section {
            start: vec![args.x0, args.y0],
            len: vec![args.nx, args.ny],
        };
        match vo_fits::read_section(&args.file, args.hdu, &cards, &section) {
            Ok(data) => vo_fits::write_image(&mut out, &cut, &data, true),
            Err(e) => {
                eprintln!("vogate: {}: {e}", args.file.display());
                return ExitCode::from(1);
            }
        }
    } else {
        out.write_all(&cut.header_bytes(true))
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vogate: writing the cut to stdout: {e}");
            ExitCode::from(1)
        }
    }
}

#[derive(Debug, Subcommand)]
enum SchemaAction {
    /// Validate Felis files as `felis validate` does (plus: duplicate tap:table_index values
    /// are always refused). Exit 0 when all are valid, 1 otherwise.
    Check {
        /// Felis YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Every object needs a non-empty description.
        #[arg(long)]
        check_description: bool,
        /// Every table needs a tap:principal column.
        #[arg(long)]
        check_tap_principal: bool,
        /// Every table needs a tap:table_index.
        #[arg(long)]
        check_tap_table_indexes: bool,
        /// Refuse mysql:/postgresql:datatype overrides that say what datatype says.
        #[arg(long)]
        check_redundant_datatypes: bool,
    },
    /// Create the tables of Felis files and their TAP_SCHEMA rows. Loading the same file again
    /// changes nothing; a changed file is refused with the differences unless
    /// --metadata-only; nothing is ever dropped.
    Load {
        /// Felis YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Rewrite the TAP_SCHEMA rows of an already published schema (the tables stay).
        #[arg(long)]
        metadata_only: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Settings from a config file and flags (exit code 2 on error).
fn settings_from(
    config: Option<PathBuf>,
    flags: Flags,
) -> Result<vogate::settings::Settings, ExitCode> {
    let (file, dir) = match &config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                eprintln!("vogate: cannot read config {}: {e}", path.display());
                ExitCode::from(2)
            })?;
            match FileConfig::from_toml(&text) {
                Ok(f) => (f, path.parent().map(|p| p.to_path_buf())),
                Err(e) => {
                    eprintln!("vogate: config {}: {e}", path.display());
                    return Err(ExitCode::from(2));
                }
            }
        }
        None => (FileConfig::default(), None),
    };
    resolve(flags, file, dir.as_deref()).map_err(|e| {
        eprintln!("vogate: {e}");
        ExitCode::from(2)
    })
}

fn schema_command(action: SchemaAction) -> ExitCode {
    match action {
        SchemaAction::Check {
            files,
            check_description,
            check_tap_principal,
            check_tap_table_indexes,
            check_redundant_datatypes,
        } => {
            let checks = vo_felis::Checks {
                description: check_description,
                tap_principal: check_tap_principal,
                tap_table_indexes: check_tap_table_indexes,
                redundant_datatypes: check_redundant_datatypes,
            };
            let mut ok = true;
            for f in &files {
                match vo_felis::load_file(f, &checks) {
                    Ok(s) => println!(
                        "{}: valid: schema {} with {} tables, {} columns",
                        f.display(),
                        s.name,
                        s.tables.len(),
                        s.tables.iter().map(|t| t.columns.len()).sum::<usize>()
                    ),
                    Err(problems) => {
                        ok = false;
                        for p in &problems {
                            eprintln!("{p}");
                        }
                        let n = problems.len();
                        println!(
                            "{}: invalid: {n} problem{}",
                            f.display(),
                            if n == 1 { "" } else { "s" }
                        );
                    }
                }
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        SchemaAction::Load {
            files,
            metadata_only,
            db,
        } => {
            let settings = match db_settings(db) {
                Ok(s) => s,
                Err(code) => return code,
            };
            if let Some(who) = vogate::served_by(&settings) {
                eprintln!(
                    "vogate: the database is being served by {who}: the schemas are written in \
                     one transaction; that server serves new tables after a restart"
                );
            }
            match vogate::load_schemas(&settings, &files, metadata_only) {
                Ok(done) => {
                    for (name, outcome) in done {
                        match outcome {
                            vo_tap::publish::Published::Created => {
                                println!("{name}: created its tables and TAP_SCHEMA rows")
                            }
                            vo_tap::publish::Published::Unchanged => {
                                println!("{name}: already published so; nothing changed")
                            }
                            vo_tap::publish::Published::MetadataUpdated(diff) => {
                                println!(
                                    "{name}: rewrote its TAP_SCHEMA rows ({} differences):",
                                    diff.len()
                                );
                                for d in diff {
                                    println!("  {d}");
                                }
                            }
                        }
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("vogate: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

/// The `--hdu` choice: an HDU number or `science`.
fn hdu_choice(hdu: &str) -> Result<vo_hips::HduChoice, String> {
    match hdu {
        "science" => Ok(vo_hips::HduChoice::Science),
        n => Ok(vo_hips::HduChoice::Index(n.parse().map_err(|_| {
            format!("--hdu {n:?}: an HDU number (0 is the primary) or science")
        })?)),
    }
}

/// A rayon pool of `threads` workers (default: one per core).
fn worker_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, ExitCode> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| {
            eprintln!("vogate: cannot start the worker threads: {e}");
            ExitCode::FAILURE
        })
}

/// `vogate hips build` and `vogate hips add`: exit 0 when the HiPS is whole, 1 on an error
/// (said on stderr), 130 when Ctrl-C stopped it.
fn hips_command(action: HipsAction) -> ExitCode {
    let action = match action {
        HipsAction::Add {
            out,
            inputs,
            hdu,
            threads,
        } => {
            let hdu = match hdu_choice(&hdu) {
                Ok(h) => h,
                Err(e) => {
                    eprintln!("vogate: {e}");
                    return ExitCode::FAILURE;
                }
            };
            return run_hips(
                threads,
                |terminal| vogate::hips_cli::run_add(&inputs, &out, hdu, terminal),
                |r, seconds| {
                    format!(
                    "HiPS in {}: {} image{} added, {} tile{} of order {} remade, {} tiles in all, sky fraction {:.3e}, {:.1} s",
                    out.display(),
                    r.images,
                    if r.images == 1 { "" } else { "s" },
                    r.made,
                    if r.made == 1 { "" } else { "s" },
                    r.order,
                    r.tiles.iter().sum::<usize>(),
                    r.sky_fraction,
                    seconds
                )
                },
            );
        }
        build => build,
    };
    let HipsAction::Build {
        out,
        mut inputs,
        from_obscore,
        data,
        db,
        order,
        frame,
        tile_width,
        overlay,
        hdu,
        threads,
        title,
        id,
        description,
        regime,
        progenitor,
        resume,
        formats,
        pixel_cut,
    } = action
    else {
        return ExitCode::FAILURE;
    };
    if let Some(adql) = from_obscore {
        let flags = Flags {
            db: db.db,
            workdir: db.workdir,
            data,
            ..Default::default()
        };
        let settings = match settings_from(db.config, flags) {
            Ok(s) => s,
            Err(code) => return code,
        };
        match vogate::obscore_inputs(&settings, &adql) {
            Ok(files) if files.is_empty() => {
                eprintln!("vogate: --from-obscore: the query selected no rows");
                return ExitCode::FAILURE;
            }
            Ok(files) => inputs = files,
            Err(e) => {
                eprintln!("vogate: --from-obscore: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let parsed = (|| -> Result<vo_hips::BuildOptions, String> {
        let frame = vo_hips::HipsFrame::parse(&frame)?;
        let overlay = vo_hips::Overlay::parse(&overlay)?;
        let hdu = hdu_choice(&hdu)?;
        let title = title.unwrap_or_else(|| {
            out.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "HiPS".into())
        });
        let creator_did = id.unwrap_or_else(|| {
            let path: String = title
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-._".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("ivo://vogate.local/P/{path}")
        });
        if !creator_did.starts_with("ivo://") || creator_did.len() <= "ivo://".len() {
            return Err(format!(
                "--id {creator_did:?}: an IVOA identifier, ivo://authority/path"
            ));
        }
        let formats = vo_hips::TileFormat::parse_list(&formats)?;
        let pixel_cut = pixel_cut
            .as_deref()
            .map(vo_hips::PixelCut::parse)
            .transpose()?;
        Ok(vo_hips::BuildOptions {
            out: out.clone(),
            formats,
            pixel_cut,
            order,
            frame,
            tile_width,
            overlay,
            hdu,
            resume,
            properties: vo_hips::Properties {
                creator_did,
                obs_title: title,
                obs_description: description,
                obs_regime: regime,
                prov_progenitor: progenitor,
                ..Default::default()
            },
        })
    })();
    let opts = match parsed {
        Ok(o) => o,
        Err(e) => {
            eprintln!("vogate: {e}");
            return ExitCode::FAILURE;
        }
    };
    run_hips(
        threads,
        |terminal| vogate::hips_cli::run(&inputs, opts, terminal),
        |r, seconds| {
            format!(
            "HiPS in {}: {} image{}, order {}, {} tiles ({} at order {}, {} made now), BITPIX {}, sky fraction {:.3e}, {:.1} s",
            out.display(),
            r.images,
            if r.images == 1 { "" } else { "s" },
            r.order,
            r.tiles.iter().sum::<usize>(),
            r.tiles.last().copied().unwrap_or(0),
            r.order,
            r.made,
            r.bitpix,
            r.sky_fraction,
            seconds
        )
        },
    )
}

/// Run `vogate hips build` or `add` (`work`, told whether stderr is a terminal) on a pool of
/// `threads` workers: the skipped inputs on stderr and the `summary` (given the report and
/// the seconds taken) on stdout (exit 0), or the error (exit 1; 130 when Ctrl-C stopped the
/// work).
fn run_hips(
    threads: Option<usize>,
    work: impl FnOnce(bool) -> Result<vo_hips::Report, String> + Send,
    summary: impl FnOnce(&vo_hips::Report, f64) -> String,
) -> ExitCode {
    use std::io::IsTerminal;
    let pool = match worker_pool(threads) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let terminal = std::io::stderr().is_terminal();
    let t0 = std::time::Instant::now();
    match pool.install(|| work(terminal)) {
        Ok(r) => {
            for (path, reason) in &r.skipped {
                eprintln!("vogate: skipped {}: {reason}", path.display());
            }
            println!("{}", summary(&r, t0.elapsed().as_secs_f64()));
            ExitCode::SUCCESS
        }
        Err(e) if e == vo_hips::build::INTERRUPTED || e == vo_hips::add::ADD_INTERRUPTED => {
            eprintln!("vogate: {e}");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("vogate: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Schema { action } => schema_command(action),
        Command::Fits { action } => fits_command(action),
        Command::Hips { action } => hips_command(*action),
        Command::Obscore {
            action:
                ObscoreAction::Sync {
                    dir,
                    db,
                    bind,
                    base_url,
                },
        } => {
            let flags = Flags {
                db: db.db,
                workdir: db.workdir,
                bind,
                base_url,
                ..Default::default()
            };
            let settings = match settings_from(db.config, flags) {
                Ok(s) => s,
                Err(code) => return code,
            };
            match vogate::obscore_sync(&settings, &dir) {
                Ok(r) => {
                    for (path, reason) in &r.failed {
                        eprintln!("vogate: no row for {path}: {reason}");
                    }
                    println!(
                        "ivoa.ObsCore: {} FITS files, {} read (new or changed), {} rows deleted, {} files without a row; {} rows",
                        r.files,
                        r.read,
                        r.deleted,
                        r.failed.len(),
                        r.rows
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("vogate: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Load { table, file, db } => {
            let settings = match db_settings(db) {
                Ok(s) => s,
                Err(code) => return code,
            };
            if let Some(who) = vogate::served_by(&settings) {
                eprintln!(
                    "vogate: the database is being served by {who}: the rows are written in \
                     one transaction, and that server sees them once it is committed"
                );
            }
            match vogate::load_csv(&settings, &table, &file) {
                Ok(n) => {
                    println!("{table}: loaded {n} rows from {}", file.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("vogate: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Serve {
            config,
            db,
            data,
            workdir,
            bind,
            base_url,
            watch,
            aladin_lite,
        } => {
            let (file, dir) = match &config {
                Some(path) => {
                    let text = match std::fs::read_to_string(path) {
                        Ok(t) => t,
                        Err(e) => {
                            eprintln!("vogate: cannot read config {}: {e}", path.display());
                            return ExitCode::from(2);
                        }
                    };
                    match FileConfig::from_toml(&text) {
                        Ok(f) => (f, path.parent().map(|p| p.to_path_buf())),
                        Err(e) => {
                            eprintln!("vogate: config {}: {e}", path.display());
                            return ExitCode::from(2);
                        }
                    }
                }
                None => (FileConfig::default(), None),
            };
            let flags = Flags {
                db,
                data,
                workdir,
                bind,
                base_url,
                watch,
                aladin_lite,
            };
            let settings = match resolve(flags, file, dir.as_deref()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("vogate: {e}");
                    return ExitCode::from(2);
                }
            };
            serve(settings)
        }
    }
}

fn serve(settings: vogate::settings::Settings) -> ExitCode {
    // The port first, then the workdir and database locks (in prepare), and only then
    // anything written: a second start on a taken port or a locked workdir changes nothing.
    let bind = settings.bind.clone();
    let listener = match std::net::TcpListener::bind(&bind) {
        Ok(l) => l,
        Err(e) => {
            let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
                " (another server, perhaps another vogate, listens there; give another --bind)"
            } else {
                ""
            };
            eprintln!("vogate: cannot listen on {bind}: {e}{hint}; nothing was changed");
            return ExitCode::from(2);
        }
    };
    let gw = match vogate::prepare_background(settings) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("vogate: {e}");
            return ExitCode::from(2);
        }
    };
    for (what, url) in vogate::endpoints(&gw.settings.base_url) {
        tracing::info!("{what}: {url}");
    }
    let jobs = gw.jobs.clone();
    let run = actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .wrap(
                    actix_web::middleware::DefaultHeaders::new()
                        .add(("Server", concat!("vogate/", env!("CARGO_PKG_VERSION")))),
                )
                .configure(vogate::routes(&gw))
        })
        // Results stream in chunks; without TCP_NODELAY, Nagle's algorithm holds the
        // last small chunk until the client's delayed ACK, about 40 ms later.
        .tcp_nodelay(true)
        .disable_signals()
        .shutdown_timeout(10)
        .listen(listener)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {bind}: {e}")))?;
        tracing::info!("listening on {bind}");
        let server = server.run();
        let handle = server.handle();
        // SIGINT or SIGTERM: pending WAITs answer at once, then the server stops gracefully
        // (requests in flight finish; at most 10 s).
        actix_web::rt::spawn(async move {
            use actix_web::rt::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::warn!("cannot listen for signals");
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("stopping: answering pending WAITs, finishing requests in flight");
            jobs.close();
            handle.stop(true).await;
        });
        server.await
    });
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vogate: server error: {e}");
            ExitCode::from(1)
        }
    }
}
