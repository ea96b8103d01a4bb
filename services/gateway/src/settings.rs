//! Settings of `vogate serve`: command-line flags over the TOML file over defaults.

use std::path::{Path, PathBuf};
use vo_common::config::FileConfig;
use vo_tap::Limits;

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// `sqlite:PATH`: an SQLite file (created if missing).
    Sqlite(PathBuf),
    /// `postgres://...`: a PostgreSQL server with pgSphere.
    Postgres(String),
}

impl DbUrl {
    /// Parse `sqlite:PATH` (also `sqlite://PATH`) or `postgres://...` / `postgresql://...`.
    /// Errors name the URL.
    pub fn parse(url: &str) -> Result<DbUrl, String> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(format!("--db {url}: no file path after 'sqlite:'"));
            }
            return Ok(DbUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_string()));
        }
        Err(format!(
            "--db {url}: not a database URL; use sqlite:PATH or postgres://..."
        ))
    }
}

/// The command-line flags of `vogate serve` (each overrides the file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// --db URL.
    pub db: Option<String>,
    /// --data DIR.
    pub data: Option<PathBuf>,
    /// --workdir DIR.
    pub workdir: Option<PathBuf>,
    /// --bind ADDR.
    pub bind: Option<String>,
    /// --base-url URL.
    pub base_url: Option<String>,
    /// --watch: follow the data tree's file events while serving.
    pub watch: bool,
    /// --aladin-lite PATH: a local copy of Aladin Lite for the landing page.
    pub aladin_lite: Option<PathBuf>,
}

/// The resolved settings of one gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The database.
    pub db: DbUrl,
    /// The data tree, if any (else the demo sky).
    pub data: Option<PathBuf>,
    /// The working directory (default `./vogate-work`).
    pub workdir: PathBuf,
    /// The listening address (default `127.0.0.1:8080`).
    pub bind: String,
    /// The public base URL (default `http://<bind>`), without a trailing slash.
    pub base_url: String,
    /// What ObsCore's access_url points to (config `access_url`: `datalink`, the default,
    /// or `file`).
    pub access_url: vo_obscore::AccessUrl,
    /// IVOA authority (default `ivo://vogate.local`).
    pub authority: String,
    /// obs_collection (default `vogate`).
    pub obs_collection: String,
    /// calib_level (default 2, 0..=4).
    pub calib_level: i32,
    /// MAXREC limits (defaults 10000 and 1000000).
    pub limits: Limits,
    /// What a TAP query may upload (`[tap] upload_*`).
    pub uploads: vo_tap::upload::UploadLimits,
    /// PostgreSQL pool size (default 16), connect timeout (5 s), statement timeout (60 s)
    /// and reader role (`vogate_reader`); the URL is `db`'s.
    pub postgres: vo_tap::postgres::PgOptions,
    /// Felis schema files to publish at start (config `schemas`).
    pub schemas: Vec<PathBuf>,
    /// HiPS maps served at `/hips/{id}/` (config `[[hips]]`), folders made absolute.
    pub hips: Vec<vo_common::config::HipsConfig>,
    /// Catalog tables with an indexed sky position (config `[[positions]]`): (table as
    /// published, ra column, dec column).
    pub positions: Vec<(String, String, String)>,
    /// TAP async jobs (config `[jobs]`): the UWS engine's settings, its base URL
    /// `<base_url>/tap/async`, results under `<workdir>/jobs` unless configured.
    pub jobs: vo_uws::UwsConfig,
    /// The live ingest (flag `--watch`, config `[watch]`).
    pub live: vo_obscore::live::LiveOptions,
    /// The ObsCore mapping (config `mapping`; the default maps as vogate always has).
    pub mapping: std::sync::Arc<vo_obscore::mapping::Mapping>,
    /// Aladin Lite's script (flag `--aladin-lite`, config `aladin_lite`), served at
    /// `/static/aladin.js` for the landing page; `None`: the page loads it from its public
    /// URL.
    pub aladin_lite: Option<PathBuf>,
}

impl Settings {
    /// The database to open ([`vo_tap::open`]): the SQLite file, or PostgreSQL with the
    /// `[postgres]` options.
    pub fn database(&self) -> vo_tap::Database {
        match &self.db {
            DbUrl::Sqlite(path) => vo_tap::Database::Sqlite(path.clone()),
            DbUrl::Postgres(_) => vo_tap::Database::Postgres(self.postgres.clone()),
        }
    }
}

/// Aladin Lite's script given `path`: the file itself, or in a folder its `aladin.js`,
/// `dist/aladin.js` (npm's package folder) or `node_modules/aladin-lite/dist/aladin.js` (a
/// folder npm installed it in). Errors: none of these is a file.
fn aladin_script(path: &Path) -> Result<PathBuf, String> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    for rel in [
        "aladin.js",
        "dist/aladin.js",
        "node_modules/aladin-lite/dist/aladin.js",
    ] {
        let p = path.join(rel);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(format!(
        "aladin_lite {}: no Aladin Lite script there (give npm aladin-lite's dist/aladin.js, \
         its package folder, or the folder `npm install aladin-lite` ran in)",
        path.display()
    ))
}

/// Resolve flags over the file over defaults. `config_dir` is where relative paths in the
/// file are taken from (the file's folder). Errors say which setting is wrong.
pub fn resolve(
    flags: Flags,
    file: FileConfig,
    config_dir: Option<&Path>,
) -> Result<Settings, String> {
    let rel = |p: PathBuf| match config_dir {
        Some(d) if p.is_relative() => d.join(p),
        _ => p,
    };
    let workdir = flags
        .workdir
        .or(file.workdir.map(rel))
        .unwrap_or_else(|| PathBuf::from("vogate-work"));
    let data = flags.data.or(file.data.map(rel));
    let bind = flags
        .bind
        .or(file.bind)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    // A socket address or host:port (resolved now, so that a typo fails at start).
    match std::net::ToSocketAddrs::to_socket_addrs(bind.as_str()) {
        Ok(addrs) => {
            if addrs.count() == 0 {
                return Err(format!("bind address '{bind}' resolves to no address"));
            }
        }
        Err(e) => return Err(format!("bind address '{bind}': {e} (use HOST:PORT)")),
    }
    let db = match flags.db.or(file.db) {
        Some(url) => DbUrl::parse(&url)?,
        None => DbUrl::Sqlite(workdir.join("vogate.db")),
    };
    let base_url = flags
        .base_url
        .or(file.base_url)
        .unwrap_or_else(|| format!("http://{bind}"))
        .trim_end_matches('/')
        .to_string();
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(format!(
            "base_url '{base_url}' must start with http:// or https://"
        ));
    }
    let access_url = match file.access_url.as_deref() {
        None | Some("datalink") => vo_obscore::AccessUrl::Datalink,
        Some("file") => vo_obscore::AccessUrl::File,
        Some(other) => {
            return Err(format!(
                "access_url '{other}' is not one of 'datalink' (the dataset's DataLink links) or 'file' (the file)"
            ))
        }
    };
    let authority = file
        .authority
        .unwrap_or_else(|| "ivo://vogate.local".to_string())
        .trim_end_matches('/')
        .to_string();
    if !authority.starts_with("ivo://") || authority.len() <= "ivo://".len() {
        return Err(format!("authority '{authority}' must be an ivo:// URI"));
    }
    let calib_level = file.calib_level.unwrap_or(2);
    if !(0..=4).contains(&calib_level) {
        return Err(format!("calib_level {calib_level} is not in 0..=4"));
    }
    let obs_collection = file.obs_collection.unwrap_or_else(|| "vogate".to_string());
    if obs_collection.is_empty() || obs_collection.contains(['?', '/', ' ']) {
        return Err(format!(
            "obs_collection '{obs_collection}' must be non-empty without '?', '/' or spaces"
        ));
    }
    let d = Limits::default();
    let limits = Limits {
        default_maxrec: file.tap.default_maxrec.unwrap_or(d.default_maxrec),
        max_maxrec: file.tap.max_maxrec.unwrap_or(d.max_maxrec),
    };
    if limits.default_maxrec > limits.max_maxrec {
        return Err(format!(
            "tap.default_maxrec {} is above tap.max_maxrec {}",
            limits.default_maxrec, limits.max_maxrec
        ));
    }
    let du = vo_tap::upload::UploadLimits::default();
    let t = &file.tap;
    let uploads = vo_tap::upload::UploadLimits {
        max_bytes: t.upload_max_bytes.unwrap_or(du.max_bytes),
        max_rows: t.upload_max_rows.unwrap_or(du.max_rows),
        max_columns: t.upload_max_columns.unwrap_or(du.max_columns),
        url_hosts: t.upload_url_hosts.clone().unwrap_or_default(),
        url_timeout: match t.upload_url_timeout {
            None => du.url_timeout,
            Some(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => {
                std::time::Duration::from_secs_f64(s)
            }
            Some(s) => {
                return Err(format!(
                    "tap.upload_url_timeout = {s}: must be above 0 and at most 3600 seconds"
                ))
            }
        },
    };
    if uploads.max_rows == 0 || uploads.max_columns == 0 || uploads.max_bytes == 0 {
        return Err(
            "tap.upload_max_bytes, upload_max_rows and upload_max_columns must be above 0".into(),
        );
    }
    let pc = &file.postgres;
    let mut postgres = vo_tap::postgres::PgOptions::new(match &db {
        DbUrl::Postgres(url) => url,
        DbUrl::Sqlite(_) => "",
    });
    if let Some(n) = pc.pool_size {
        if n == 0 {
            return Err("postgres.pool_size must be at least 1".into());
        }
        postgres.pool_size = n;
    }
    let seconds =
        |name: &str, v: Option<f64>, min: f64| -> Result<Option<std::time::Duration>, String> {
            match v {
                None => Ok(None),
                Some(s) if s.is_finite() && s >= min && s <= 86_400.0 => {
                    Ok(Some(std::time::Duration::from_secs_f64(s)))
                }
                Some(s) => Err(format!(
                    "postgres.{name} = {s}: must be between {min} and 86400 seconds"
                )),
            }
        };
    if let Some(d) = seconds("connect_timeout", pc.connect_timeout, 0.1)? {
        postgres.connect_timeout = d;
    }
    if let Some(d) = seconds("statement_timeout", pc.statement_timeout, 0.0)? {
        postgres.statement_timeout = d;
    }
    if let Some(r) = &pc.reader_role {
        if r.is_empty() || r.len() > 63 || !r.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "postgres.reader_role '{r}' must be 1-63 letters, digits or underscores"
            ));
        }
        postgres.reader_role = r.clone();
    }
    let schemas = file.schemas.iter().cloned().map(rel).collect();
    let mut positions = Vec::new();
    for p in &file.positions {
        if !p.table.contains('.') {
            return Err(format!(
                "positions: table '{}' must be given as schema.table",
                p.table
            ));
        }
        positions.push((p.table.clone(), p.ra.clone(), p.dec.clone()));
    }
    let jc = &file.jobs;
    let mut jobs = vo_uws::UwsConfig::new(
        &format!("{base_url}/tap/async"),
        &jc.results_dir
            .clone()
            .map(rel)
            .unwrap_or_else(|| workdir.join("jobs")),
    );
    if let Some(n) = jc.workers {
        if n == 0 || n > 1024 {
            return Err(format!("jobs.workers = {n}: must be between 1 and 1024"));
        }
        jobs.workers = n;
    }
    for (name, value, target) in [
        (
            "default_execution_duration",
            jc.default_execution_duration,
            &mut jobs.default_execution_duration,
        ),
        (
            "max_execution_duration",
            jc.max_execution_duration,
            &mut jobs.max_execution_duration,
        ),
    ] {
        if let Some(v) = value {
            if v < 0 {
                return Err(format!(
                    "jobs.{name} = {v}: must be 0 (no limit) or more seconds"
                ));
            }
            *target = v;
        }
    }
    if jobs.max_execution_duration > 0
        && (jobs.default_execution_duration == 0
            || jobs.default_execution_duration > jobs.max_execution_duration)
    {
        return Err(format!(
            "jobs.default_execution_duration {} is above jobs.max_execution_duration {}",
            jobs.default_execution_duration, jobs.max_execution_duration
        ));
    }
    if let Some(d) = jc.lifetime_days {
        if !(d.is_finite() && d > 0.0 && d <= 3650.0) {
            return Err(format!(
                "jobs.lifetime_days = {d}: must be above 0 and at most 3650"
            ));
        }
        jobs.default_lifetime = std::time::Duration::from_secs_f64(d * 86_400.0);
    }
    if let Some(w) = jc.max_wait {
        if w > 3600 {
            return Err(format!("jobs.max_wait = {w}: must be at most 3600 seconds"));
        }
        jobs.max_wait = w;
    }
    if let Some(n) = jc.max_jobs {
        if n == 0 {
            return Err("jobs.max_jobs must be at least 1".into());
        }
        jobs.max_jobs = n;
    }
    if let Some(n) = jc.max_result_bytes {
        if n == 0 {
            return Err("jobs.max_result_bytes must be at least 1".into());
        }
        jobs.max_result_bytes = n;
    }
    if let Some(n) = jc.max_total_result_bytes {
        if n == 0 {
            return Err("jobs.max_total_result_bytes must be at least 1".into());
        }
        jobs.max_total_result_bytes = n;
    }
    if let Some(l) = jc.lease_seconds {
        if !(l.is_finite() && (1.0..=3600.0).contains(&l)) {
            return Err(format!(
                "jobs.lease_seconds = {l}: must be between 1 and 3600"
            ));
        }
        jobs.lease = std::time::Duration::from_secs_f64(l);
        jobs.reap_every = jobs.lease.min(std::time::Duration::from_secs(5));
    }
    if let Some(h) = &jc.owner_header {
        if h.is_empty()
            || !h
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "jobs.owner_header '{h}' is not an HTTP header name"
            ));
        }
        jobs.owner_header = Some(h.clone());
    }
    let wc = &file.watch;
    let mut live = vo_obscore::live::LiveOptions {
        watch: flags.watch || wc.enabled.unwrap_or(false),
        ..Default::default()
    };
    if let Some(sfx) = &wc.ready_suffix {
        if sfx.is_empty() || sfx.contains('/') || is_fits_suffix(sfx) {
            return Err(format!(
                "watch.ready_suffix '{sfx}' must be a non-empty file name ending without '/' that is not itself a FITS name ending"
            ));
        }
        live.ready_suffix = Some(sfx.clone());
    }
    for (name, value, min, target) in [
        ("settle_seconds", wc.settle_seconds, 0.0, &mut live.settle),
        (
            "short_timeout_seconds",
            wc.short_timeout_seconds,
            0.0,
            &mut live.short_timeout,
        ),
        (
            "rescan_seconds",
            wc.rescan_seconds,
            0.0,
            &mut live.rescan_every,
        ),
    ] {
        if let Some(v) = value {
            if !(v.is_finite() && v >= min && v <= 30.0 * 86_400.0) {
                return Err(format!(
                    "watch.{name} = {v}: must be between {min} and 2592000 seconds"
                ));
            }
            *target = std::time::Duration::from_secs_f64(v);
        }
    }
    if let Some(b) = wc.batch {
        if b == 0 || b > 100_000 {
            return Err(format!("watch.batch = {b}: must be between 1 and 100000"));
        }
        live.batch = b;
    }
    let mut hips = Vec::new();
    for h in &file.hips {
        let ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        if h.id.is_empty() || !h.id.chars().all(ok) || h.id.starts_with('.') {
            return Err(format!(
                "hips: id '{}' must be letters, digits, '.', '_' and '-' (not starting with '.')",
                h.id
            ));
        }
        if hips
            .iter()
            .any(|x: &vo_common::config::HipsConfig| x.id == h.id)
        {
            return Err(format!("hips: id '{}' is given twice", h.id));
        }
        let path = rel(h.path.clone());
        if !path.join("properties").is_file() {
            return Err(format!(
                "hips '{}': {} holds no properties file (build it with vogate hips build)",
                h.id,
                path.display()
            ));
        }
        hips.push(vo_common::config::HipsConfig { path, ..h.clone() });
    }
    let aladin_lite = flags
        .aladin_lite
        .or(file.aladin_lite.clone().map(rel))
        .map(|p| aladin_script(&p))
        .transpose()?;
    let mapping = match file.mapping.clone().map(rel) {
        Some(path) => vo_obscore::mapping::Mapping::read(&path)?,
        None => vo_obscore::mapping::Mapping::default(),
    };
    Ok(Settings {
        aladin_lite,
        hips,
        mapping: std::sync::Arc::new(mapping),
        live,
        jobs,
        positions,
        schemas,
        postgres,
        db,
        data,
        workdir,
        bind,
        base_url,
        access_url,
        authority,
        obs_collection,
        calib_level,
        limits,
        uploads,
    })
}

/// Whether a ready suffix would make the marker itself look like a FITS file.
fn is_fits_suffix(sfx: &str) -> bool {
    vo_obscore::ingest::is_fits_name(&format!("x{sfx}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_file_then_flags() {
        let s = resolve(Flags::default(), FileConfig::default(), None).expect("defaults");
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(s.base_url, "http://127.0.0.1:8080");
        assert_eq!(s.workdir, PathBuf::from("vogate-work"));
        assert_eq!(s.db, DbUrl::Sqlite(PathBuf::from("vogate-work/vogate.db")));
        assert_eq!(s.authority, "ivo://vogate.local");
        assert_eq!(s.calib_level, 2);
        let file = FileConfig::from_toml(
            "bind = \"0.0.0.0:9000\"\nworkdir = \"w\"\nbase_url = \"https://ex.org/vo/\"\ncalib_level = 3\n",
        )
        .expect("toml");
        let s = resolve(
            Flags::default(),
            file.clone(),
            Some(Path::new("/etc/vogate")),
        )
        .expect("file");
        assert_eq!(s.bind, "0.0.0.0:9000");
        assert_eq!(s.workdir, PathBuf::from("/etc/vogate/w"));
        assert_eq!(s.base_url, "https://ex.org/vo");
        assert_eq!(s.calib_level, 3);
        let flags = Flags {
            bind: Some("127.0.0.1:1234".into()),
            db: Some("sqlite:/tmp/x.db".into()),
            ..Default::default()
        };
        let s = resolve(flags, file, None).expect("flags");
        assert_eq!(s.bind, "127.0.0.1:1234");
        assert_eq!(s.db, DbUrl::Sqlite(PathBuf::from("/tmp/x.db")));
        assert_eq!(s.base_url, "https://ex.org/vo");
    }

    #[test]
    fn the_example_config_parses_and_matches_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vogate.example.toml");
        let text = std::fs::read_to_string(path).expect("vogate.example.toml");
        let file = FileConfig::from_toml(&text).expect("valid TOML");
        let from_file = resolve(Flags::default(), file, None).expect("settings");
        let defaults = resolve(Flags::default(), FileConfig::default(), None).expect("defaults");
        assert_eq!(from_file, defaults);
    }

    #[test]
    fn aladin_lite_is_found_in_the_folders_npm_makes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("node_modules/aladin-lite/dist/aladin.js");
        std::fs::create_dir_all(script.parent().expect("parent")).expect("mkdir");
        std::fs::write(&script, "export{}").expect("write");
        for given in [
            dir.path().to_path_buf(),
            dir.path().join("node_modules/aladin-lite"),
            script.clone(),
        ] {
            let flags = Flags {
                aladin_lite: Some(given.clone()),
                ..Default::default()
            };
            let s = resolve(flags, FileConfig::default(), None).expect("settings");
            assert_eq!(
                s.aladin_lite.as_deref(),
                Some(script.as_path()),
                "{given:?}"
            );
        }
        // From the file, relative to its folder.
        let file = FileConfig::from_toml("aladin_lite = \"node_modules\"").expect("toml");
        let e = resolve(Flags::default(), file.clone(), Some(dir.path())).expect_err("no script");
        assert!(e.contains("no Aladin Lite script"), "{e}");
        let file =
            FileConfig::from_toml("aladin_lite = \"node_modules/aladin-lite\"").expect("toml");
        let s = resolve(Flags::default(), file, Some(dir.path())).expect("settings");
        assert_eq!(s.aladin_lite.as_deref(), Some(script.as_path()));
        assert_eq!(
            resolve(Flags::default(), FileConfig::default(), None)
                .expect("defaults")
                .aladin_lite,
            None
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let bad = |flags: Flags, toml: &str| {
            resolve(flags, FileConfig::from_toml(toml).expect("toml"), None).expect_err(toml)
        };
        assert!(bad(
            Flags {
                bind: Some("nowhere".into()),
                ..Default::default()
            },
            ""
        )
        .contains("bind address 'nowhere'"));
        assert!(bad(
            Flags {
                db: Some("mysql://x".into()),
                ..Default::default()
            },
            ""
        )
        .contains("--db mysql://x"));
        assert!(bad(Flags::default(), "calib_level = 7").contains("calib_level 7"));
        assert!(bad(Flags::default(), "access_url = \"ftp\"").contains("access_url 'ftp'"));
        assert!(bad(Flags::default(), "authority = \"http://x\"").contains("ivo://"));
        assert!(bad(
            Flags::default(),
            "[tap]\ndefault_maxrec = 10\nmax_maxrec = 5"
        )
        .contains("default_maxrec"));
    }
}
