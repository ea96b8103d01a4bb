//! A FITS image writer with a real celestial WCS, through fitsio (CFITSIO), and the demo sky
//! that `vogate serve` publishes when it is given no data tree.
//!
//! Images are 32-bit float (BITPIX = -32) with the reference pixel at the image centre,
//! CRPIX = ((NAXIS1+1)/2, (NAXIS2+1)/2), so the world position of the centre is CRVAL
//! exactly. The linear part is PC + CDELT (FITS WCS Paper I §2.1.2), with CDELT1 = -scale
//! (east to the left) and a rotation `rotation` degrees: PC = [[cos, -sin], [sin, cos]].

use fitsio::images::{ImageDescription, ImageType};
use fitsio::FitsFile;
use std::path::{Path, PathBuf};

/// What to write: one 2-D image with a celestial WCS.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSpec {
    /// CTYPE1, e.g. `RA---TAN` or `GLON-CAR`.
    pub ctype1: String,
    /// CTYPE2, e.g. `DEC--TAN` or `GLAT-CAR`.
    pub ctype2: String,
    /// CRVAL1, degrees (the centre's longitude).
    pub crval1: f64,
    /// CRVAL2, degrees (the centre's latitude).
    pub crval2: f64,
    /// NAXIS1, pixels.
    pub naxis1: usize,
    /// NAXIS2, pixels.
    pub naxis2: usize,
    /// Pixel scale, degrees per pixel (> 0).
    pub scale: f64,
    /// Position angle of the pixel grid, degrees.
    pub rotation: f64,
    /// RADESYS, if written.
    pub radesys: Option<String>,
    /// EQUINOX, if written.
    pub equinox: Option<f64>,
    /// OBJECT.
    pub object: Option<String>,
    /// DATE-OBS (ISO 8601, UTC).
    pub date_obs: Option<String>,
    /// EXPTIME, seconds.
    pub exptime: Option<f64>,
    /// TELESCOP.
    pub telescop: Option<String>,
    /// INSTRUME.
    pub instrume: Option<String>,
    /// A third, spectral axis, making a cube.
    pub spectral: Option<SpectralAxis>,
    /// Other string keywords (key, value), written after the others.
    pub keywords: Vec<(String, String)>,
}

/// A linear spectral axis (FITS WCS Paper III): NAXIS3 planes, CTYPE3/CUNIT3, the value
/// CRVAL3 at CRPIX3 = 1 and CDELT3 per plane.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralAxis {
    /// CTYPE3, e.g. `WAVE` or `FREQ`.
    pub ctype: String,
    /// CUNIT3, e.g. `nm` or `GHz`.
    pub cunit: String,
    /// CRVAL3: the value at the first plane's centre.
    pub crval: f64,
    /// CDELT3: the step per plane.
    pub cdelt: f64,
    /// NAXIS3.
    pub planes: usize,
}

impl ImageSpec {
    /// A TAN image in ICRS centred on (`ra`, `dec`) degrees.
    pub fn tan(ra: f64, dec: f64, naxis1: usize, naxis2: usize, scale: f64) -> Self {
        ImageSpec {
            ctype1: "RA---TAN".into(),
            ctype2: "DEC--TAN".into(),
            crval1: ra,
            crval2: dec,
            naxis1,
            naxis2,
            scale,
            rotation: 0.0,
            radesys: Some("ICRS".into()),
            equinox: None,
            object: None,
            date_obs: None,
            exptime: None,
            telescop: None,
            instrume: None,
            keywords: Vec::new(),
            spectral: None,
        }
    }
}

fn fits_err<'a>(what: &str, path: &'a Path) -> impl Fn(fitsio::errors::Error) -> String + 'a {
    let what = what.to_string();
    move |e| format!("{}: {what}: {e}", path.display())
}

/// Write `spec` to `path` (replacing any file there), with a smooth synthetic sky: a
/// Gaussian source at the centre on a gentle gradient.
pub fn write_image(path: &Path, spec: &ImageSpec) -> Result<(), String> {
    let desc = ImageDescription {
        data_type: ImageType::Float,
        dimensions: &dims(spec),
    };
    let mut f = FitsFile::create(path)
        .with_custom_primary(&desc)
        .overwrite()
        .open()
        .map_err(fits_err("cannot create", path))?;
    let hdu = f.primary_hdu().map_err(fits_err("no primary HDU", path))?;
    fill_hdu(&mut f, &hdu, spec, path)
}

/// Write a multi-extension file: an empty primary HDU, then one image extension per chip,
/// each with its EXTNAME (e.g. `SCI`, `MASK`) and its own WCS.
pub fn write_mef(path: &Path, chips: &[(&str, ImageSpec)]) -> Result<(), String> {
    let mut f = FitsFile::create(path)
        .overwrite()
        .open()
        .map_err(fits_err("cannot create", path))?;
    for (extname, spec) in chips {
        let desc = ImageDescription {
            data_type: ImageType::Float,
            dimensions: &dims(spec),
        };
        let hdu = f
            .create_image(extname.to_string(), &desc)
            .map_err(fits_err("cannot add an image extension", path))?;
        fill_hdu(&mut f, &hdu, spec, path)?;
    }
    Ok(())
}

/// The image shape in fitsio's (C) order: slowest axis first.
fn dims(spec: &ImageSpec) -> Vec<usize> {
    match &spec.spectral {
        Some(s) => vec![s.planes, spec.naxis2, spec.naxis1],
        None => vec![spec.naxis2, spec.naxis1],
    }
}

fn fill_hdu(
    f: &mut FitsFile,
    hdu: &fitsio::hdu::FitsHdu,
    spec: &ImageSpec,
    path: &Path,
) -> Result<(), String> {
    let (n1, n2) = (spec.naxis1, spec.naxis2);
    let (s, c) = spec.rotation.to_radians().sin_cos();
    let crpix1 = (n1 as f64 + 1.0) / 2.0;
    let crpix2 = (n2 as f64 + 1.0) / 2.0;
    let text: Vec<(&str, Option<&String>)> = vec![
        ("CTYPE1", Some(&spec.ctype1)),
        ("CTYPE2", Some(&spec.ctype2)),
        ("RADESYS", spec.radesys.as_ref()),
        ("OBJECT", spec.object.as_ref()),
        ("DATE-OBS", spec.date_obs.as_ref()),
        ("TELESCOP", spec.telescop.as_ref()),
        ("INSTRUME", spec.instrume.as_ref()),
    ];
    for (k, v) in text {
        if let Some(v) = v {
            hdu.write_key(f, k, v.as_str()).map_err(fits_err(k, path))?;
        }
    }
    for (k, v) in &spec.keywords {
        hdu.write_key(f, k, v.as_str()).map_err(fits_err(k, path))?;
    }
    let nums: Vec<(&str, Option<f64>)> = vec![
        ("CRPIX1", Some(crpix1)),
        ("CRPIX2", Some(crpix2)),
        ("CRVAL1", Some(spec.crval1)),
        ("CRVAL2", Some(spec.crval2)),
        ("CDELT1", Some(-spec.scale)),
        ("CDELT2", Some(spec.scale)),
        ("PC1_1", Some(c)),
        ("PC1_2", Some(-s)),
        ("PC2_1", Some(s)),
        ("PC2_2", Some(c)),
        ("EQUINOX", spec.equinox),
        ("EXPTIME", spec.exptime),
    ];
    for (k, v) in nums {
        if let Some(v) = v {
            hdu.write_key(f, k, v).map_err(fits_err(k, path))?;
        }
    }
    hdu.write_key(f, "CUNIT1", "deg")
        .map_err(fits_err("CUNIT1", path))?;
    hdu.write_key(f, "CUNIT2", "deg")
        .map_err(fits_err("CUNIT2", path))?;
    hdu.write_key(f, "BUNIT", "adu")
        .map_err(fits_err("BUNIT", path))?;
    let planes = match &spec.spectral {
        Some(s) => {
            hdu.write_key(f, "CTYPE3", s.ctype.as_str())
                .map_err(fits_err("CTYPE3", path))?;
            hdu.write_key(f, "CUNIT3", s.cunit.as_str())
                .map_err(fits_err("CUNIT3", path))?;
            for (k, v) in [("CRPIX3", 1.0), ("CRVAL3", s.crval), ("CDELT3", s.cdelt)] {
                hdu.write_key(f, k, v).map_err(fits_err(k, path))?;
            }
            s.planes
        }
        None => 1,
    };
    let sigma = (n1.min(n2) as f64 / 8.0).max(1.0);
    let mut data = Vec::with_capacity(n1 * n2 * planes);
    for k in 0..planes {
        for j in 0..n2 {
            for i in 0..n1 {
                let (dx, dy) = (i as f64 + 1.0 - crpix1, j as f64 + 1.0 - crpix2);
                let g = 1000.0 * (-(dx * dx + dy * dy) / (2.0 * sigma * sigma)).exp();
                data.push((g + 10.0 + 0.01 * (i + j + k) as f64) as f32);
            }
        }
    }
    hdu.write_image(f, &data)
        .map_err(fits_err("cannot write pixels", path))?;
    Ok(())
}

/// The demo sky: five TAN images around well-known positions (ICRS degrees), including one
/// that straddles RA = 0 and one that holds the north celestial pole.
pub fn demo_specs() -> Vec<(&'static str, ImageSpec)> {
    let mk = |ra, dec, n, scale, rot, object: &str, date: &str, exptime| {
        let mut s = ImageSpec::tan(ra, dec, n, n, scale);
        s.rotation = rot;
        s.object = Some(object.into());
        s.date_obs = Some(date.into());
        s.exptime = Some(exptime);
        s.telescop = Some("vogate demo telescope".into());
        s.instrume = Some("synthetic camera".into());
        s
    };
    vec![
        (
            "m31.fits",
            mk(
                10.684708,
                41.26875,
                200,
                0.0025,
                0.0,
                "M31",
                "2024-01-15T03:00:00",
                300.0,
            ),
        ),
        (
            "m42.fits",
            mk(
                83.82208,
                -5.39111,
                160,
                0.0025,
                30.0,
                "M42",
                "2024-02-01T21:30:00.5",
                120.0,
            ),
        ),
        (
            "sgr_a.fits",
            mk(
                266.41683,
                -29.00781,
                160,
                0.003,
                0.0,
                "Sgr A*",
                "2024-06-20T02:00:00",
                60.0,
            ),
        ),
        (
            "ra0_field.fits",
            mk(
                0.05,
                10.0,
                120,
                0.004,
                10.0,
                "RA=0 field",
                "2024-09-10T23:59:59",
                30.0,
            ),
        ),
        (
            "ncp_field.fits",
            mk(
                45.0,
                89.9,
                120,
                0.004,
                0.0,
                "North celestial pole",
                "2024-12-24T12:00:00",
                600.0,
            ),
        ),
    ]
}

/// Write the demo sky into `dir` (created if needed) and return the files' paths. Files that
/// are already there are left as they are.
pub fn write_demo_sky(dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    let mut out = Vec::new();
    for (name, spec) in demo_specs() {
        let path = dir.join(name);
        if !path.exists() {
            write_image(&path, &spec)?;
        }
        out.push(path);
    }
    Ok(out)
}

/// Write `n` small TAN images (64x64 float32, 3.6 arcsec pixels) spread over the sky on a
/// golden-angle spiral into `dir`, in `subdirs` sub-folders (`night00`, ...), for benchmarks
/// and load tests. Returns the files' paths.
pub fn write_spread_sky(dir: &Path, n: usize, subdirs: usize) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let ra = (i as f64 * 137.508) % 360.0;
        let dec = ((i as f64 * 0.618_034) % 1.0) * 170.0 - 85.0;
        let mut spec = ImageSpec::tan(ra, dec, 64, 64, 0.001);
        spec.date_obs = Some("2024-05-01T00:00:00".into());
        spec.exptime = Some(30.0);
        let sub = dir.join(format!("night{:02}", i % subdirs.max(1)));
        std::fs::create_dir_all(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
        let path = sub.join(format!("img{i:05}.fits"));
        write_image(&path, &spec)?;
        out.push(path);
    }
    Ok(out)
}
