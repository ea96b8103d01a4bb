//! FITS product files to ObsCore rows.
//!
//! One row per product file: the first image HDU with a usable celestial WCS describes it.
//! Definitions (ObsCore 1.1 §4 and this project's issue):
//! - centre: the world position of FITS pixel ((NAXIS1+1)/2, (NAXIS2+1)/2), in ICRS degrees,
//!   RA in [0, 360): `s_ra`, `s_dec`;
//! - `s_region`: STC-S `POLYGON ICRS` through the outer pixel corners (0.5 and NAXISn+0.5),
//!   counter-clockwise as seen from the centre of the sphere; NULL, with `s_fov` = 360, when a
//!   corner has no sky position (all-sky projections) or the corners span more than a
//!   hemisphere;
//! - `s_fov`: diameter in degrees of the smallest circle holding the corners;
//! - `s_resolution`: the pixel scale at the centre in arcsec (geometric mean of the two axes),
//!   the best estimate of resolution a header gives;
//! - `t_min`: MJD from MJD-OBS, else DATE-OBS (UTC, through ERFA `eraDtf2d`); `t_max` =
//!   `t_min` + EXPTIME/86400; `t_exptime` = EXPTIME in seconds; NULL when absent.

use std::path::{Path, PathBuf};
use vo_common::region::Polygon;
use vo_common::sky::{
    convex_hull, counter_clockwise, smallest_enclosing_circle, stcs_polygon, SkyPoint,
};
use vo_common::Value;
use vo_fits::celestial::CelestialWcs;
use vo_fits::header::{Card, FileHeaders, ImageHeader};

/// Settings that shape the rows of an ingest.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestConfig {
    /// IVOA authority, e.g. `ivo://vogate.local`.
    pub authority: String,
    /// obs_collection of every row.
    pub obs_collection: String,
    /// calib_level of every row (0..=4).
    pub calib_level: i32,
    /// Base URL of the service, which access_url starts with.
    pub base_url: String,
    /// What access_url points to.
    pub access_url: AccessUrl,
    /// Rules, templates, filter ranges and HDU roles ([`crate::mapping`]; the default maps
    /// as vogate always has).
    pub mapping: std::sync::Arc<crate::mapping::Mapping>,
}

/// What an ObsCore row's access_url points to (ObsCore 1.1 §4.7: access_format says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessUrl {
    /// The dataset's DataLink `{links}`, as Rubin's live ObsCore does:
    /// `<base_url>/datalink/links?ID=<obs_publisher_did, percent-encoded>`, access_format
    /// `application/x-votable+xml;content=datalink`. Clients that know DataLink (pyvo's
    /// `iter_datalinks`, TOPCAT, Firefly) find the file, preview and cutouts there.
    #[default]
    Datalink,
    /// The file itself: `<base_url>/files/<obs_id, percent-encoded>`, access_format the
    /// file's ([`file_format`]).
    File,
}

/// The access_format of a DataLink access_url (DataLink 1.1 §3.3).
pub const DATALINK_FORMAT: &str = "application/x-votable+xml;content=datalink";

/// The MIME type of the product file at `rel` (a path relative to the data root):
/// `application/gzip` for a gzipped file, else `application/fits` (ingest takes only FITS).
pub fn file_format(rel: &str) -> &'static str {
    if rel.to_ascii_lowercase().ends_with(".gz") {
        "application/gzip"
    } else {
        "application/fits"
    }
}

/// One ObsCore row (the 30 mandatory columns; see [`crate::OBSCORE_COLUMNS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ObsCoreRow {
    /// `image` or `cube`.
    pub dataproduct_type: String,
    /// 0..=4.
    pub calib_level: i32,
    /// Collection name.
    pub obs_collection: String,
    /// The mapping's obs_id (by default the file's path relative to the data root).
    pub obs_id: String,
    /// The product file's path relative to the data root, `/`-separated (not an ObsCore
    /// column: kept in the internal `_path` column, by which the services find the file).
    pub path: String,
    /// `<authority>/<obs_collection>?<obs_id>`.
    pub obs_publisher_did: String,
    /// Where the file is served.
    pub access_url: String,
    /// MIME type of what access_url returns.
    pub access_format: String,
    /// File size in kB (1024 bytes), rounded up.
    pub access_estsize: i64,
    /// OBJECT keyword.
    pub target_name: Option<String>,
    /// ICRS RA of the centre, degrees in [0, 360).
    pub s_ra: f64,
    /// ICRS Dec of the centre, degrees.
    pub s_dec: f64,
    /// Diameter of the smallest circle around the footprint, degrees (360 for all-sky).
    pub s_fov: f64,
    /// STC-S polygon, or None for an all-sky footprint.
    pub s_region: Option<String>,
    /// Pixel scale at the centre, arcsec.
    pub s_resolution: Option<f64>,
    /// NAXIS1.
    pub s_xel1: i64,
    /// NAXIS2.
    pub s_xel2: i64,
    /// Start, MJD.
    pub t_min: Option<f64>,
    /// Stop, MJD.
    pub t_max: Option<f64>,
    /// Exposure time, seconds.
    pub t_exptime: Option<f64>,
    /// Shortest wavelength covered, metres (cubes with a spectral axis).
    pub em_min: Option<f64>,
    /// Longest wavelength covered, metres.
    pub em_max: Option<f64>,
    /// Number of spectral planes.
    pub em_xel: Option<i64>,
    /// TELESCOP keyword.
    pub facility_name: Option<String>,
    /// INSTRUME keyword.
    pub instrument_name: Option<String>,
    /// The footprint's corners in ICRS (not a column; kept for tests and later indexes).
    pub corners: Vec<SkyPoint>,
    /// The mapping's extension columns (name, value), in the mapping's order.
    pub extra: Vec<(String, Value)>,
}

impl ObsCoreRow {
    /// The row's values in [`crate::OBSCORE_COLUMNS`] order.
    pub fn values(&self) -> Vec<Value> {
        fn t(s: &str) -> Value {
            Value::Text(s.to_string())
        }
        fn ot(s: &Option<String>) -> Value {
            s.as_deref().map(t).unwrap_or(Value::Null)
        }
        fn od(v: Option<f64>) -> Value {
            v.map(Value::Double).unwrap_or(Value::Null)
        }
        vec![
            t(&self.dataproduct_type),
            Value::Int(self.calib_level.into()),
            t(&self.obs_collection),
            t(&self.obs_id),
            t(&self.obs_publisher_did),
            t(&self.access_url),
            t(&self.access_format),
            Value::Int(self.access_estsize),
            ot(&self.target_name),
            Value::Double(self.s_ra),
            Value::Double(self.s_dec),
            Value::Double(self.s_fov),
            ot(&self.s_region),
            od(self.s_resolution),
            Value::Int(self.s_xel1),
            Value::Int(self.s_xel2),
            od(self.t_min),
            od(self.t_max),
            od(self.t_exptime),
            Value::Null,
            Value::Null,
            od(self.em_min),
            od(self.em_max),
            Value::Null,
            self.em_xel.map(Value::Int).unwrap_or(Value::Null),
            Value::Null,
            Value::Null,
            Value::Null,
            ot(&self.facility_name),
            ot(&self.instrument_name),
        ]
    }
}

/// A file that gave no row, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file's path.
    pub path: PathBuf,
    /// Why it was skipped.
    pub reason: String,
}

/// The result of walking a data tree.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// One row per product file.
    pub rows: Vec<ObsCoreRow>,
    /// Files that gave no row, with reasons.
    pub skipped: Vec<Skipped>,
}

/// Whether `name` is a FITS file vogate ingests: `.fits`, `.fits.gz` or `.fits.fz`
/// (case-insensitive).
pub fn is_fits_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with(".fits") || n.ends_with(".fits.gz") || n.ends_with(".fits.fz")
}

/// Percent-encode everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Walk `root` (following symbolic links) and make a row for each FITS file.
/// Files that cannot be read, or have no usable celestial WCS, are logged (warn, with path
/// and reason) and listed in [`ScanReport::skipped`]; the walk never stops on one bad file.
pub fn scan_tree(root: &Path, cfg: &IngestConfig) -> ScanReport {
    let mut report = ScanReport::default();
    let mut entries: Vec<PathBuf> = Vec::new();
    // Symbolic links are followed (walkdir reports loops as errors, which are logged).
    for entry in walkdir::WalkDir::new(root).follow_links(true) {
        match entry {
            Ok(e) if e.file_type().is_file() && is_fits_name(&e.file_name().to_string_lossy()) => {
                entries.push(e.into_path())
            }
            Ok(_) => {}
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                tracing::warn!(path = %path.display(), reason = %e, "skipped while walking the data tree");
                report.skipped.push(Skipped {
                    path,
                    reason: e.to_string(),
                });
            }
        }
    }
    entries.sort();
    for path in entries {
        let rel = match path.strip_prefix(root) {
            Ok(r) => r
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/"),
            Err(_) => continue,
        };
        match ingest_file(&path, &rel, cfg) {
            Ok(row) => report.rows.push(row),
            Err(reason) => {
                tracing::warn!(path = %path.display(), %reason, "skipped FITS file");
                report.skipped.push(Skipped { path, reason });
            }
        }
    }
    report
}

fn merged_text(h: &ImageHeader, primary: &vo_fits::Cards, key: &str) -> Option<String> {
    h.text(key)
        .map(str::to_string)
        .or_else(|| match primary.get(key) {
            Some(Card::Text(s)) => Some(s.trim().to_string()),
            _ => None,
        })
        .filter(|s| !s.is_empty())
}

fn merged_number(h: &ImageHeader, primary: &vo_fits::Cards, key: &str) -> Option<f64> {
    h.number(key).or_else(|| match primary.get(key) {
        Some(Card::Number(v)) => Some(*v),
        _ => None,
    })
}

/// MJD (UTC) of an ISO-8601 FITS date `YYYY-MM-DD[Thh:mm:ss[.s...]]`, through ERFA
/// `eraDtf2d`; `None` for other forms.
pub fn iso_to_mjd(s: &str) -> Option<f64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut d = date.split('-');
    let year: i32 = d.next()?.parse().ok()?;
    let month: i32 = d.next()?.parse().ok()?;
    let day: i32 = d.next()?.parse().ok()?;
    if d.next().is_some() {
        return None;
    }
    let (hour, minute, sec) = match time {
        Some(t) => {
            let mut p = t.split(':');
            let h: i32 = p.next()?.parse().ok()?;
            let m: i32 = p.next().unwrap_or("0").parse().ok()?;
            let s: f64 = p.next().unwrap_or("0").parse().ok()?;
            (h, m, s)
        }
        None => (0, 0, 0.0),
    };
    let ((d1, d2), _warning) =
        erfars::timescales::Dtf2d(true, year, month, day, hour, minute, sec).ok()?;
    Some((d1 - 2400000.5) + d2)
}

/// The ObsCore row of the file at `path`, whose path relative to the data root is `rel`.
/// Errors say why the file gives no row.
pub fn ingest_file(path: &Path, rel: &str, cfg: &IngestConfig) -> Result<ObsCoreRow, String> {
    // A file whose data is shorter than its headers declare (cut, or still being written) or
    // that is not FITS is no product.
    let (layouts, headers) = vo_fits::check_file_with_headers(path).map_err(|e| e.to_string())?;
    ingest_checked(path, &layouts, headers.as_deref(), rel, cfg)
}

/// [`ingest_file`] for a file that [`vo_fits::check_file_with_headers`] has found complete,
/// at `layouts`, with `cards` its header bytes when it is a plain file (live ingest checks
/// first, to tell a file still being written from a bad one). A plain file's headers are
/// read from those bytes ([`vo_fits::header::read_headers_plain`]), any other's by CFITSIO.
pub fn ingest_checked(
    path: &Path,
    layouts: &[vo_fits::HduLayout],
    cards: Option<&[Vec<u8>]>,
    rel: &str,
    cfg: &IngestConfig,
) -> Result<ObsCoreRow, String> {
    let headers = read_product_headers(path, layouts, cards, cfg)?;
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot stat: {e}"))?
        .len();
    row_from_headers(&headers, rel, size, cfg)
}

/// The headers of a complete product file (see [`ingest_checked`]), with the keywords the
/// mapping reads.
pub fn read_product_headers(
    path: &Path,
    layouts: &[vo_fits::HduLayout],
    cards: Option<&[Vec<u8>]>,
    cfg: &IngestConfig,
) -> Result<FileHeaders, String> {
    let extra = &cfg.mapping.keywords;
    match cards.and_then(|c| vo_fits::header::read_headers_plain(layouts, c, extra)) {
        Some(h) => Ok(h),
        None => vo_fits::read_headers_with(path, extra),
    }
}

/// The ObsCore row of a product whose headers are `headers`, whose path relative to the
/// data root is `rel` and whose size is `size` bytes; errors say why it gives none. No I/O:
/// the live ingest makes rows again from stored headers when the mapping changes.
pub fn row_from_headers(
    headers: &FileHeaders,
    rel: &str,
    size: u64,
    cfg: &IngestConfig,
) -> Result<ObsCoreRow, String> {
    let mut reasons = Vec::new();
    let mut chips: Vec<(&ImageHeader, CelestialWcs)> = Vec::new();
    for h in &headers.images {
        if !cfg.mapping.is_science(&[
            h.text("EXTNAME").unwrap_or(""),
            h.text("EXTTYPE").unwrap_or(""),
        ]) {
            continue;
        }
        match CelestialWcs::from_header(h) {
            Ok(wcs) => chips.push((h, wcs)),
            Err(e) => reasons.push(format!("HDU {}: {e}", h.index)),
        }
    }
    if headers.images.is_empty() {
        return Err("no image HDU with two or more axes".to_string());
    }
    if chips.is_empty() {
        return Err(format!("no usable celestial WCS ({})", reasons.join("; ")));
    }
    let (h, wcs) = &chips[0];
    let mut row = row_from_wcs(h, wcs, &headers.primary, rel, size, cfg)
        .map_err(|e| format!("HDU {}: {e}", h.index))?;
    if chips.len() > 1 {
        // Several science chips make one product: the footprint is the convex hull of every
        // chip's corners, and the centre is the hull's centre (its vertices' mean direction).
        // Like a single image, a product whose footprint has no polygon smaller than a
        // hemisphere (a corner off the projection, or chips spread too far) is all-sky:
        // s_region NULL, s_fov 360, the centre that of the first chip.
        let corners: Option<Vec<SkyPoint>> = chips
            .iter()
            .map(|(_, wcs)| chip_corners(wcs))
            .collect::<Option<Vec<_>>>()
            .map(|c| c.concat());
        let hull = corners
            .as_deref()
            .and_then(convex_hull)
            .filter(|h| Polygon::new(h).is_ok());
        match hull
            .as_deref()
            .and_then(|h| smallest_enclosing_circle(h).map(|c| (h, c)))
        {
            Some((hull, circle)) => {
                let mut sum = [0.0; 3];
                for v in hull {
                    let v = v.to_vec();
                    sum = [sum[0] + v[0], sum[1] + v[1], sum[2] + v[2]];
                }
                let centre = SkyPoint::from_vec(sum);
                row.s_ra = centre.ra;
                row.s_dec = centre.dec;
                row.s_fov = 2.0 * circle.radius;
                row.s_region = Some(stcs_polygon(hull));
                row.corners = hull.to_vec();
            }
            None => {
                row.s_fov = 360.0;
                row.s_region = None;
                row.corners = corners.unwrap_or_default();
            }
        }
    }
    Ok(row)
}

/// The wavelength range in metres and the plane count of a linear spectral third (or
/// fourth) axis, by vo-fits's [`vo_fits::WorldAxis`] (FITS WCS Paper III: WAVE/AWAV, FREQ,
/// ENER; the planes' outer edges). `None` when there is no spectral axis; an error for one
/// vogate cannot convert (named in the message).
pub fn spectral_range(h: &ImageHeader) -> Result<Option<(f64, f64, i64)>, String> {
    for axis in [3, 4] {
        // Time axes are no business of the spectral columns (nor their errors).
        let ctype = h.text(&format!("CTYPE{axis}")).unwrap_or("");
        if vo_fits::axis_kind(ctype) == Some(vo_fits::AxisKind::Time) {
            continue;
        }
        let Some(a) = vo_fits::WorldAxis::from_header(h, axis)? else {
            continue;
        };
        if a.kind != vo_fits::AxisKind::Wavelength {
            continue;
        }
        let (lo, hi) = a
            .range()
            .filter(|(lo, _)| *lo > 0.0)
            .ok_or("the spectral axis reaches a non-positive value")?;
        return Ok(Some((lo, hi, a.planes as i64)));
    }
    Ok(None)
}

/// Whether the polygon through an image's four corners is a faithful footprint: a valid
/// spherical polygon (the one the query functions build from s_region), holding the image
/// centre, with every edge's middle pixel within 5% of the edge's length of the great-circle
/// edge between its corners. A wide image (a long CAR strip, a ZEA hemisphere) fails and is
/// stored as all-sky (s_region NULL, s_fov 360), which queries treat as covering everything:
/// over-inclusive, never a product silently missing from a search.
fn footprint_is_faithful(wcs: &CelestialWcs, corners: &[SkyPoint], centre: SkyPoint) -> bool {
    let Ok(poly) = Polygon::new(corners) else {
        return false;
    };
    if !poly.contains(centre) {
        return false;
    }
    let (n1, n2) = (wcs.naxis1 as f64, wcs.naxis2 as f64);
    let mids = [
        ((n1 + 1.0) / 2.0, 0.5),
        (n1 + 0.5, (n2 + 1.0) / 2.0),
        ((n1 + 1.0) / 2.0, n2 + 0.5),
        (0.5, (n2 + 1.0) / 2.0),
    ];
    mids.iter().enumerate().all(|(i, &(x, y))| {
        let (a, b) = (corners[i].to_vec(), corners[(i + 1) % 4].to_vec());
        match wcs.pixel_to_icrs(x, y) {
            Some(m) => {
                let len = vo_common::sky::angle_between(a, b);
                vo_common::region::distance_to_arc(m.to_vec(), a, b) <= 0.05 * len + 1e-9
            }
            None => false,
        }
    })
}

/// The sky positions of the outer corners of an image (pixels 0.5 and NAXISn + 0.5).
fn chip_corners(wcs: &CelestialWcs) -> Option<Vec<SkyPoint>> {
    let (n1, n2) = (wcs.naxis1 as f64, wcs.naxis2 as f64);
    [
        (0.5, 0.5),
        (n1 + 0.5, 0.5),
        (n1 + 0.5, n2 + 0.5),
        (0.5, n2 + 0.5),
    ]
    .iter()
    .map(|&(x, y)| wcs.pixel_to_icrs(x, y))
    .collect()
}

fn row_from_wcs(
    h: &ImageHeader,
    wcs: &CelestialWcs,
    primary: &vo_fits::Cards,
    rel: &str,
    size: u64,
    cfg: &IngestConfig,
) -> Result<ObsCoreRow, String> {
    let (n1, n2) = (wcs.naxis1 as f64, wcs.naxis2 as f64);
    let (cx, cy) = ((n1 + 1.0) / 2.0, (n2 + 1.0) / 2.0);
    let centre = wcs
        .pixel_to_icrs(cx, cy)
        .ok_or("the centre pixel has no sky position")?;
    let corners = chip_corners(wcs);
    let (s_region, s_fov, corners) = match corners {
        Some(c) => match smallest_enclosing_circle(&c) {
            Some(circle) if footprint_is_faithful(wcs, &c, centre) => {
                let ccw = counter_clockwise(c, centre);
                (Some(stcs_polygon(&ccw)), 2.0 * circle.radius, ccw)
            }
            _ => (None, 360.0, c),
        },
        None => (None, 360.0, Vec::new()),
    };
    let s_resolution = match (
        wcs.pixel_to_icrs(cx + 1.0, cy),
        wcs.pixel_to_icrs(cx, cy + 1.0),
    ) {
        (Some(a), Some(b)) => Some((centre.distance(a) * centre.distance(b)).sqrt() * 3600.0),
        _ => None,
    };
    let exptime = merged_number(h, primary, "EXPTIME").filter(|e| *e >= 0.0);
    let t_min = merged_number(h, primary, "MJD-OBS")
        .or_else(|| merged_text(h, primary, "DATE-OBS").and_then(|d| iso_to_mjd(&d)));
    let t_max = match (t_min, exptime) {
        (Some(t), Some(e)) => Some(t + e / 86400.0),
        _ => None,
    };
    let spectral = spectral_range(h)?;
    // A cube has a spectral axis of several planes (ObsCore 1.1 §4.1); a Stokes or time axis,
    // or a single spectral plane, leaves an image (with its em_min/em_max when spectral).
    let cube = spectral.is_some_and(|s| s.2 > 1);
    // The mapping: the first rule that matches decides what it sets; templates are filled
    // from the path and the header (this HDU's keywords, else the primary's).
    let keyword = |k: &str| -> Option<String> {
        match h.cards.get(k).or_else(|| primary.get(k)) {
            Some(Card::Text(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Some(Card::Number(v)) => Some(v.to_string()),
            None => None,
        }
    };
    let m = &cfg.mapping;
    let rule = m.rule_for(rel, &keyword).map(|r| &r.set);
    let obs_collection = rule
        .and_then(|r| r.obs_collection.clone())
        .unwrap_or_else(|| cfg.obs_collection.clone());
    let mut vars = crate::mapping::Vars {
        path: rel,
        obs_collection: &obs_collection,
        authority: &cfg.authority,
        obs_id: rel,
        keyword: &keyword,
    };
    let obs_id = rule
        .and_then(|r| r.obs_id.as_ref())
        .unwrap_or(&m.obs_id)
        .render(&vars, false)?;
    if obs_id.is_empty() {
        return Err(format!(
            "the obs_id template gives an empty obs_id for {rel}"
        ));
    }
    vars.obs_id = &obs_id;
    let named = |t: Option<&crate::mapping::Template>,
                 default: Option<String>|
     -> Result<Option<String>, String> {
        match t {
            Some(t) => Ok(Some(t.render(&vars, false)?).filter(|s| !s.is_empty())),
            None => Ok(default),
        }
    };
    let target_name = named(
        rule.and_then(|r| r.target_name.as_ref()),
        merged_text(h, primary, "OBJECT"),
    )?;
    let facility_name = named(
        rule.and_then(|r| r.facility_name.as_ref()),
        merged_text(h, primary, "TELESCOP"),
    )?;
    let instrument_name = named(
        rule.and_then(|r| r.instrument_name.as_ref()),
        merged_text(h, primary, "INSTRUME"),
    )?;
    let obs_publisher_did = m.obs_publisher_did.render(&vars, true)?;
    let mut extra = Vec::with_capacity(m.extra_columns.len());
    for c in &m.extra_columns {
        // An extension column whose keyword a header lacks is NULL (they are optional
        // metadata); a value of the wrong type is an error.
        let value = match c.template.as_ref().map(|t| t.render(&vars, false)) {
            Some(Ok(text)) => c.value(&text)?,
            Some(Err(_)) | None => Value::Null,
        };
        extra.push((c.column.name.clone(), value));
    }
    // A product without a spectral axis takes the range of its filter, when the mapping
    // names it.
    let band = match spectral {
        Some(s) => Some((s.0, s.1)),
        None => keyword(&m.filter_keyword)
            .and_then(|f| m.spectral_ranges.get(&f).copied())
            .flatten(),
    };
    let base = cfg.base_url.trim_end_matches('/');
    let (access_url, access_format) = match cfg.access_url {
        AccessUrl::Datalink => (
            format!(
                "{base}/datalink/links?ID={}",
                percent_encode(&obs_publisher_did)
            ),
            DATALINK_FORMAT,
        ),
        AccessUrl::File => (
            format!("{base}/files/{}", percent_encode(rel)),
            file_format(rel),
        ),
    };
    Ok(ObsCoreRow {
        dataproduct_type: rule
            .and_then(|r| r.dataproduct_type.clone())
            .unwrap_or_else(|| if cube { "cube" } else { "image" }.to_string()),
        calib_level: rule.and_then(|r| r.calib_level).unwrap_or(cfg.calib_level),
        obs_collection,
        obs_id: obs_id.clone(),
        path: rel.to_string(),
        obs_publisher_did,
        access_url,
        access_format: access_format.to_string(),
        access_estsize: size.div_ceil(1024) as i64,
        target_name,
        s_ra: centre.ra,
        s_dec: centre.dec,
        s_fov,
        s_region,
        s_resolution,
        s_xel1: wcs.naxis1,
        s_xel2: wcs.naxis2,
        t_min,
        t_max,
        t_exptime: exptime,
        em_min: band.map(|b| b.0),
        em_max: band.map(|b| b.1),
        em_xel: spectral.map(|s| s.2),
        facility_name,
        instrument_name,
        corners,
        extra,
    })
}

/// `headers` as compact JSON, for the live ingest's file states (`{"p": primary keywords,
/// "i": [[index, [NAXISn...], keywords], ...], "k": [the mapping keywords read]}`, keywords
/// as `{KEY: number or text}`), with `keys` the extra keywords that were asked for.
pub fn headers_to_json(headers: &FileHeaders, keys: &[String]) -> String {
    // Written by hand: this runs once per file read, and building serde_json values took
    // a fifth of the ingest's time. (Writing to a String cannot fail.)
    use std::fmt::Write;
    fn string(out: &mut String, s: &str) {
        out.push('"');
        if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
            out.push_str(s);
            out.push('"');
            return;
        }
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    fn cards(out: &mut String, c: &vo_fits::Cards) {
        out.push('{');
        for (i, (k, v)) in c.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            string(out, k);
            out.push(':');
            match v {
                // Finite (the header reader keeps other values as text).
                // ryu: the shortest text that reads back as the same number (as Rust's
                // Debug writes it, only faster; either is a JSON number).
                Card::Number(n) if n.is_finite() => {
                    out.push_str(ryu::Buffer::new().format_finite(*n))
                }
                Card::Number(_) => out.push_str("null"),
                Card::Text(t) => string(out, t),
            }
        }
        out.push('}');
    }
    let mut out = String::with_capacity(1024);
    out.push_str("{\"p\":");
    cards(&mut out, &headers.primary);
    out.push_str(",\"i\":[");
    for (i, h) in headers.images.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "[{},[", h.index);
        for (j, n) in h.naxis.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let _ = write!(out, "{n}");
        }
        out.push_str("],");
        cards(&mut out, &h.cards);
        out.push(']');
    }
    out.push_str("],\"k\":[");
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(&mut out, k);
    }
    out.push_str("]}");
    out
}

/// The headers and the extra keywords of [`headers_to_json`]'s text; `None` for anything
/// else.
pub fn headers_from_json(text: &str) -> Option<(FileHeaders, Vec<String>)> {
    fn cards(v: &serde_json::Value) -> Option<vo_fits::Cards> {
        v.as_object()?
            .iter()
            .map(|(k, v)| {
                let c = match v {
                    serde_json::Value::Number(n) => Card::Number(n.as_f64()?),
                    serde_json::Value::String(s) => Card::Text(s.clone()),
                    _ => return None,
                };
                Some((k.clone(), c))
            })
            .collect()
    }
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let images = v["i"]
        .as_array()?
        .iter()
        .map(|h| {
            Some(ImageHeader {
                index: usize::try_from(h[0].as_u64()?).ok()?,
                naxis: h[1]
                    .as_array()?
                    .iter()
                    .map(serde_json::Value::as_i64)
                    .collect::<Option<Vec<_>>>()?,
                cards: cards(&h[2])?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let keys = v["k"]
        .as_array()?
        .iter()
        .map(|k| k.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()?;
    Some((
        FileHeaders {
            primary: cards(&v["p"])?,
            images,
        },
        keys,
    ))
}
