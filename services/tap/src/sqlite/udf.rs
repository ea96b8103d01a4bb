//! The user-defined functions of `vo_adql::check::UDFS` on SQLite, with PostgreSQL +
//! pgSphere's results and errors: HEALPix (NESTED) indexes and cell centres through CDS's
//! cdshealpix (pgSphere uses the HEALPix library; both give the same cells and centres),
//! `ivo_hasword` and `ivo_hashlist_has` as the `vogate_adql` SQL functions compute them.

use rusqlite::types::{Value, ValueRef};

fn err(message: &str) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(message.into())
}

fn int(v: &ValueRef<'_>) -> rusqlite::Result<i64> {
    match v {
        ValueRef::Integer(i) => Ok(*i),
        ValueRef::Real(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(*f as i64),
        _ => Err(err("a HEALPix order and index must be integers")),
    }
}

fn float(v: &ValueRef<'_>) -> rusqlite::Result<f64> {
    match v {
        ValueRef::Integer(i) => Ok(*i as f64),
        ValueRef::Real(f) => Ok(*f),
        _ => Err(err("a position must be numbers")),
    }
}

fn text<'a>(v: &'a ValueRef<'_>) -> rusqlite::Result<&'a str> {
    match v {
        ValueRef::Text(t) => std::str::from_utf8(t).map_err(|e| err(&e.to_string())),
        _ => Err(err("this function takes text")),
    }
}

/// A HEALPix order checked as pgSphere checks it (0 to 29).
fn order(v: &ValueRef<'_>) -> rusqlite::Result<u8> {
    let o = int(v)?;
    u8::try_from(o)
        .ok()
        .filter(|o| *o <= 29)
        .ok_or_else(|| err("Healpix level out of valid range [0..29]"))
}

/// The words of `t`: runs of a-z and 0-9 once ASCII letters are lowered (as
/// `vogate_adql.words`).
fn words(t: &str) -> impl Iterator<Item = String> + '_ {
    t.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

/// The astronomical unit in km yr / s (ESA SP-1200 Vol. 1 Table 1.2.2: A_v = 4.740470446):
/// a radial velocity in km/s times a parallax in mas over it is a rate in mas/yr.
const AU_KM_YR_PER_S: f64 = 4.740_470_446;

/// ivo_epoch_prop_pos: the position (ra, dec, degrees) at `t1` of a star at (ra, dec) at
/// `t0` (Julian years) with parallax (mas), pmra (with cos dec) and pmdec (mas/yr) and
/// radial velocity (km/s): ESA SP-1200 Vol. 1 §1.5.5, eqs. 1.5.18 to 1.5.19, a straight
/// line in space, as `vogate_adql.epoch_prop_pos` computes it on PostgreSQL.
pub fn epoch_prop_pos([ra, dec, plx, pmra, pmdec, rv, t0, t1]: [f64; 8]) -> (f64, f64) {
    let mas = std::f64::consts::PI / 180.0 / 3_600_000.0;
    let (sa, ca) = ra.to_radians().sin_cos();
    let (sd, cd) = dec.to_radians().sin_cos();
    let r = [cd * ca, cd * sa, sd];
    let p = [-sa, ca, 0.0];
    let q = [-sd * ca, -sd * sa, cd];
    let tau = t1 - t0;
    // Rates in rad/yr.
    let (mu_a, mu_d) = (pmra * mas, pmdec * mas);
    let zeta = rv * plx / AU_KM_YR_PER_S * mas;
    let mu = [
        p[0] * mu_a + q[0] * mu_d,
        p[1] * mu_a + q[1] * mu_d,
        p[2] * mu_a + q[2] * mu_d,
    ];
    let mu2 = mu_a * mu_a + mu_d * mu_d;
    let f = 1.0 / (1.0 + 2.0 * zeta * tau + (mu2 + zeta * zeta) * tau * tau).sqrt();
    let u = [0, 1, 2].map(|i| (r[i] * (1.0 + zeta * tau) + mu[i] * tau) * f);
    let ra1 = u[1].atan2(u[0]).to_degrees();
    let dec1 = u[2].atan2(u[0].hypot(u[1])).to_degrees();
    (vo_common::sky::normalize_ra(ra1), dec1)
}

/// The UDF `name` of non-NULL `args`, or `None` when `name` is not one.
pub fn apply(name: &str, args: &[ValueRef<'_>]) -> Option<rusqlite::Result<Value>> {
    Some(match (name, args) {
        ("HEALPIX_INDEX", [o, ra, dec]) => (|| {
            let depth = order(o)?;
            let (ra, dec) = (float(ra)?, float(dec)?);
            if !ra.is_finite() || !(-90.0..=90.0).contains(&dec) {
                return Err(err(&format!(
                    "({ra}, {dec}) is not a position: RA must be finite and Dec in [-90, 90] degrees"
                )));
            }
            let lon = vo_common::sky::normalize_ra(ra).to_radians();
            let hash = cdshealpix::nested::hash(depth, lon, dec.to_radians());
            Ok(Value::Integer(i64::try_from(hash).unwrap_or(i64::MAX)))
        })(),
        ("HEALPIX_CENTER_RA" | "HEALPIX_CENTER_DEC", [o, i]) => (|| {
            let depth = order(o)?;
            let index = int(i)?;
            let cells = 12u64 << (2 * u32::from(depth));
            let index = u64::try_from(index)
                .ok()
                .filter(|i| *i < cells)
                .ok_or_else(|| err("Healpix index out of range"))?;
            let (lon, lat) = cdshealpix::nested::center(depth, index);
            Ok(Value::Real(if name == "HEALPIX_CENTER_RA" {
                vo_common::sky::normalize_ra(lon.to_degrees())
            } else {
                lat.to_degrees()
            }))
        })(),
        ("EPOCH_PROP_RA" | "EPOCH_PROP_DEC", [ra, dec, plx, pmra, pmdec, rv, t0, t1]) => (|| {
            let a: [f64; 8] = [
                float(ra)?,
                float(dec)?,
                float(plx)?,
                float(pmra)?,
                float(pmdec)?,
                float(rv)?,
                float(t0)?,
                float(t1)?,
            ];
            if !(-90.0..=90.0).contains(&a[1]) || a.iter().any(|v| !v.is_finite()) {
                return Err(err(&format!(
                    "ivo_epoch_prop_pos: ({}, {}) is not a position, or a value is not finite",
                    a[0], a[1]
                )));
            }
            let (ra, dec) = epoch_prop_pos(a);
            Ok(Value::Real(if name == "EPOCH_PROP_RA" { ra } else { dec }))
        })(
        ),
        ("HASWORD", [h, n]) => (|| {
            let hay: std::collections::HashSet<String> = words(text(h)?).collect();
            Ok(Value::Integer(i64::from(
                words(text(n)?).all(|w| hay.contains(&w)),
            )))
        })(),
        ("HASHLIST_HAS", [l, i]) => (|| {
            let item = text(i)?.to_lowercase();
            Ok(Value::Integer(i64::from(
                text(l)?.to_lowercase().split('#').any(|w| w == item),
            )))
        })(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &[Value]) -> rusqlite::Result<Value> {
        let refs: Vec<ValueRef<'_>> = args.iter().map(ValueRef::from).collect();
        apply(name, &refs).expect("a UDF")
    }

    #[test]
    fn healpix_as_pgsphere() {
        use Value::{Integer as I, Real as R};
        // pgSphere 1.2: healpix_nest(10, spoint(radians(10.5), radians(-20.25))) = 4275961,
        // center_of_healpix_nest(10, 123456) = (53.0859375, 23.03392176646406) degrees.
        assert_eq!(
            call("HEALPIX_INDEX", &[I(10), R(10.5), R(-20.25)]).ok(),
            Some(I(4275961))
        );
        assert_eq!(
            call("HEALPIX_INDEX", &[I(29), R(10.5), R(-20.25)]).ok(),
            Some(I(1175367431305186930))
        );
        assert_eq!(
            call("HEALPIX_CENTER_RA", &[I(10), I(123456)]).ok(),
            Some(R(53.0859375))
        );
        let Ok(R(dec)) = call("HEALPIX_CENTER_DEC", &[I(10), I(123456)]) else {
            panic!("no declination");
        };
        assert!((dec - 23.03392176646406).abs() < 1e-12, "{dec}");
        for (args, msg) in [
            (
                vec![I(30), R(0.0), R(0.0)],
                "Healpix level out of valid range [0..29]",
            ),
            (
                vec![I(-1), R(0.0), R(0.0)],
                "Healpix level out of valid range [0..29]",
            ),
        ] {
            let e = call("HEALPIX_INDEX", &args).expect_err("refused");
            assert!(e.to_string().contains(msg), "{e}");
        }
        let e = call("HEALPIX_CENTER_RA", &[I(3), I(100000)]).expect_err("refused");
        assert!(e.to_string().contains("Healpix index out of range"), "{e}");
        assert!(call("HEALPIX_INDEX", &[I(3), R(0.0), R(91.0)]).is_err());
    }

    #[test]
    fn epoch_propagation() {
        // Barnard's star (Gaia DR3) from J2016.0: astropy's apply_space_motion (ERFA
        // starpm, which adds the light-time of the radial motion, 0.04 arcsec here) agrees
        // to 0.1 arcsec.
        let barnard = |t1: f64| {
            epoch_prop_pos([
                269.44850252543836,
                4.739420051112412,
                546.975939730948,
                -801.551,
                10362.394,
                -110.353,
                2016.0,
                t1,
            ])
        };
        for (t1, ra, dec) in [
            (2000.0, 269.45207343125594, 4.693410420354037),
            (2100.0, 269.42963102361466, 4.982468063354363),
        ] {
            let (a, d) = barnard(t1);
            let off = vo_common::sky::SkyPoint::new(a, d)
                .distance(vo_common::sky::SkyPoint::new(ra, dec));
            assert!(off * 3600.0 < 0.1, "{t1}: {a} {d}, {} arcsec", off * 3600.0);
        }
        // No motion: the same place; forward then back: the start, to a microarcsecond.
        let still = epoch_prop_pos([12.0, -34.0, 5.0, 0.0, 0.0, 0.0, 2000.0, 2500.0]);
        assert!((still.0 - 12.0).abs() < 1e-12 && (still.1 + 34.0).abs() < 1e-12);
        // Without radial motion the star moves along a great circle by |μ| τ: 50 mas/yr for
        // 1000 years is 50 arcsec.
        let (a, d) = epoch_prop_pos([100.0, 20.0, 0.0, 30.0, 40.0, 0.0, 2000.0, 3000.0]);
        let moved = vo_common::sky::SkyPoint::new(100.0, 20.0)
            .distance(vo_common::sky::SkyPoint::new(a, d));
        assert!((moved * 3600.0 - 50.0).abs() < 1e-6, "{}", moved * 3600.0);
        // Near the pole, across RA = 0.
        let (a, d) = epoch_prop_pos([359.9999, 89.9999, 10.0, 200.0, -300.0, 50.0, 2000.0, 3000.0]);
        assert!((0.0..360.0).contains(&a) && d < 90.0);
    }

    #[test]
    fn words_and_hashlists() {
        let t = |s: &str| Value::Text(s.into());
        let yes = Value::Integer(1);
        let no = Value::Integer(0);
        assert_eq!(
            call("HASWORD", &[t("The Quick brown-fox"), t("quick FOX")]).ok(),
            Some(yes.clone())
        );
        assert_eq!(
            call("HASWORD", &[t("quickly"), t("quick")]).ok(),
            Some(no.clone())
        );
        assert_eq!(call("HASWORD", &[t("a b"), t("")]).ok(), Some(yes.clone()));
        assert_eq!(
            call("HASHLIST_HAS", &[t("Gaia#2MASS#sdss"), t("2mass")]).ok(),
            Some(yes)
        );
        assert_eq!(
            call("HASHLIST_HAS", &[t("Gaia#2MASS"), t("mass")]).ok(),
            Some(no)
        );
        assert!(apply("NOPE", &[]).is_none());
    }
}
