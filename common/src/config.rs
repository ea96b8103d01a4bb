//! The gateway configuration file (TOML), as documented in `vogate.example.toml`.
//!
//! Every key is optional: a missing key takes the command-line flag, then the default
//! (flags override the file, the file overrides defaults). Unknown keys are an error, so that
//! a typo is reported rather than silently ignored.

use serde::Deserialize;
use std::path::PathBuf;

/// The contents of a vogate TOML configuration file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Database URL: `sqlite:PATH` or `postgres://...`.
    pub db: Option<String>,
    /// Root of the FITS data tree (read only; never written to).
    pub data: Option<PathBuf>,
    /// Working directory for the SQLite file and anything vogate writes.
    pub workdir: Option<PathBuf>,
    /// Socket address to listen on, e.g. `127.0.0.1:8080`.
    pub bind: Option<String>,
    /// The public base URL of the service as clients reach it, e.g. `https://archive.example/`;
    /// access_url values and capability URLs are built from it.
    pub base_url: Option<String>,
    /// What ObsCore's access_url points to: `datalink` (the dataset's `{links}`, the
    /// default) or `file` (the file itself).
    pub access_url: Option<String>,
    /// IVOA authority for publisher DIDs, e.g. `ivo://vogate.local`.
    pub authority: Option<String>,
    /// ObsCore obs_collection for ingested files.
    pub obs_collection: Option<String>,
    /// ObsCore calib_level (0-4) for ingested files.
    pub calib_level: Option<i32>,
    /// An ObsCore mapping file (TOML: rules by path and header, templates, filter ranges,
    /// HDU roles; see `obscore-mapping.example.toml`), relative to this file's folder.
    pub mapping: Option<PathBuf>,
    /// Felis schema files to publish at start (tables and TAP_SCHEMA rows, as `vogate schema
    /// load` does).
    #[serde(default)]
    pub schemas: Vec<PathBuf>,
    /// Catalog tables with a sky position to index (`[[positions]]` entries).
    #[serde(default)]
    pub positions: Vec<PositionConfig>,
    /// HiPS maps to serve at `/hips/{id}/` (`[[hips]]` entries).
    #[serde(default)]
    pub hips: Vec<HipsConfig>,
    /// A local copy of Aladin Lite for the landing page's sky view: npm `aladin-lite`'s
    /// `dist/aladin.js` or a folder holding it (the package's, or a `node_modules` beside
    /// it), relative to this file's folder. Default: the script from its public URL.
    pub aladin_lite: Option<PathBuf>,
    /// TAP limits.
    #[serde(default)]
    pub tap: TapConfig,
    /// PostgreSQL pool and query settings (used when `db` is a `postgres://` URL).
    #[serde(default)]
    pub postgres: PostgresConfig,
    /// Asynchronous jobs (UWS 1.1: TAP async).
    #[serde(default)]
    pub jobs: JobsConfig,
    /// The live ingest of the data tree (`[watch]`).
    #[serde(default)]
    pub watch: WatchConfig,
}

/// The live ingest (`[watch]`): how `vogate serve` follows the data tree. Every key is
/// optional; the defaults are in `vogate.example.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WatchConfig {
    /// Follow file events while serving, as `--watch` does (default false: the tree is
    /// scanned at start only).
    pub enabled: Option<bool>,
    /// A suffix whose file beside a FITS file says it is complete (e.g. `.done`:
    /// `a.fits.done` for `a.fits`); default none (a file is complete when closed after
    /// writing).
    pub ready_suffix: Option<String>,
    /// Seconds a file's size and mtime must stay still before it is read, where no
    /// close-after-write event comes (default 2).
    pub settle_seconds: Option<f64>,
    /// Seconds a short file (still being written) is tried again before it is listed as
    /// failed (default 120).
    pub short_timeout_seconds: Option<f64>,
    /// Seconds between full scans while watching, the safety net for lost events; 0: never
    /// (default 600).
    pub rescan_seconds: Option<f64>,
    /// Files written per transaction (default 500).
    pub batch: Option<usize>,
}

/// Asynchronous jobs (UWS 1.1). Every key is optional; the defaults are in
/// `vogate.example.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// Where results are written (default `<workdir>/jobs`).
    pub results_dir: Option<PathBuf>,
    /// Jobs run at once by one gateway (default 4).
    pub workers: Option<usize>,
    /// EXECUTIONDURATION of a job that gives none, seconds (default 3600; 0: no limit).
    pub default_execution_duration: Option<i64>,
    /// The largest EXECUTIONDURATION accepted, seconds (default 86400; 0: no cap).
    pub max_execution_duration: Option<i64>,
    /// How long a job lives when it gives no DESTRUCTION, days (default 7).
    pub lifetime_days: Option<f64>,
    /// The longest WAIT honoured, seconds (default 60).
    pub max_wait: Option<u64>,
    /// The most jobs stored at once (default 10000).
    pub max_jobs: Option<u64>,
    /// The largest result of one job, bytes (default 10 GiB).
    pub max_result_bytes: Option<u64>,
    /// The most bytes all kept results may take together (default 100 GiB).
    pub max_total_result_bytes: Option<u64>,
    /// How long a running job's lease lasts without a heartbeat, seconds (default 30).
    pub lease_seconds: Option<f64>,
    /// The request header naming the caller, set by an authenticating proxy (e.g.
    /// `X-Auth-Request-User`); jobs then belong to their caller. Default: none (anonymous
    /// jobs, visible to all).
    pub owner_header: Option<String>,
}

/// A published table whose rows have a sky position (ICRS degrees), which vogate indexes
/// (HEALPix on SQLite, pgSphere on PostgreSQL) so that cones on it use the index.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PositionConfig {
    /// The table as published, `schema.table`.
    pub table: String,
    /// Its right-ascension column (degrees).
    pub ra: String,
    /// Its declination column (degrees).
    pub dec: String,
}

/// A HiPS to serve (`[[hips]]`): the folder `vogate hips build` wrote.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HipsConfig {
    /// Its name in URLs, `/hips/{id}/` (letters, digits, `.`, `_`, `-`).
    pub id: String,
    /// The HiPS folder (with `properties`), relative to the config file's folder.
    pub path: PathBuf,
    /// A title for the HiPS list, instead of the properties' obs_title.
    pub title: Option<String>,
}

/// PostgreSQL settings.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// The most pooled connections (default 16).
    pub pool_size: Option<usize>,
    /// Seconds a connection attempt, or a wait for a pooled connection, may take (default 5).
    pub connect_timeout: Option<f64>,
    /// Seconds a TAP query may run before the database cancels it (default 60; 0: no limit).
    pub statement_timeout: Option<f64>,
    /// The NOLOGIN role TAP queries run as (default `vogate_reader`).
    pub reader_role: Option<String>,
}

/// TAP output limits (TAPRegExt `outputLimit`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TapConfig {
    /// Rows returned when the request has no MAXREC.
    pub default_maxrec: Option<u64>,
    /// The largest MAXREC honoured; larger values are lowered to it.
    pub max_maxrec: Option<u64>,
    /// The most bytes of one request's uploaded tables together (default 256 MiB).
    pub upload_max_bytes: Option<u64>,
    /// The most rows of one uploaded table (default 1,000,000).
    pub upload_max_rows: Option<u64>,
    /// The most columns of one uploaded table (default 1,000).
    pub upload_max_columns: Option<usize>,
    /// The hosts a URL upload may be fetched from (`host` or `host:port`); none by default,
    /// and then URL uploads are refused.
    pub upload_url_hosts: Option<Vec<String>>,
    /// How long fetching one URL upload may take, seconds (default 30).
    pub upload_url_timeout: Option<f64>,
}

impl FileConfig {
    /// Parse a TOML document. Errors carry the TOML parser's line, column and message.
    pub fn from_toml(text: &str) -> Result<FileConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_rejects_unknown() {
        let c = FileConfig::from_toml(
            "bind = \"0.0.0.0:9000\"\ncalib_level = 3\n[tap]\nmax_maxrec = 5\n",
        )
        .expect("valid");
        assert_eq!(c.bind.as_deref(), Some("0.0.0.0:9000"));
        assert_eq!(c.calib_level, Some(3));
        assert_eq!(c.tap.max_maxrec, Some(5));
        let e = FileConfig::from_toml("bnid = 1").expect_err("typo");
        assert!(e.contains("bnid"), "{e}");
    }
}
