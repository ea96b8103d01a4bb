//! VOUnits 1.0 (IVOA Recommendation 2014-05-23): parsing unit strings and the factor that
//! converts a value from one unit to another, for ADQL 2.1's IN_UNIT (§2.4).
//!
//! A unit string is an optional scale factor (`10**-3`, `1e-3`, `1.5`) and a product of
//! terms: `unit` or `unit**power` (an integer, `(-2)` or a fraction `(1/2)`), joined by `.`
//! (product) and `/` (division, applying to the term or parenthesised group after it),
//! with parentheses for groups: `km/s`, `mW/m**2`, `erg/(cm**2.s)`, `deg**2`. A unit is a
//! symbol of [`UNITS`], possibly with an SI prefix (`k`, `M`, `m`, `u` for micro, `da`, ...)
//! where VOUnits allows one; a symbol that is itself a unit (`Pa`, `cd`, `min`, `mas`) is read
//! whole before any prefix is tried.
//!
//! Two units convert when their dimensions are equal. Dimensions are the seven SI base
//! quantities and, kept apart because astronomers never want them mixed with numbers or
//! with each other: plane angle (so `deg` converts to `rad` but not to a plain number),
//! magnitudes, counts, pixels and bits. Solid angle is angle squared (`sr` = `rad**2`).

/// A dimension: exponents of m, kg, s, A, K, mol, cd, rad, mag, count, pixel, bit.
type Dims = [f64; 12];

const L: usize = 0;
const M: usize = 1;
const T: usize = 2;
const I: usize = 3;
const THETA: usize = 4;
const N: usize = 5;
const J: usize = 6;
const ANGLE: usize = 7;
const MAG: usize = 8;
const COUNT: usize = 9;
const PIXEL: usize = 10;
const BIT: usize = 11;

/// A unit: its scale to the coherent base units (metres, kilograms, seconds, radians ...),
/// and its dimension.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    /// The value in base units of one of this unit.
    pub scale: f64,
    dims: Dims,
}

fn dims(pairs: &[(usize, f64)]) -> Dims {
    let mut d = [0.0; 12];
    for &(i, e) in pairs {
        d[i] = e;
    }
    d
}

/// One symbol of VOUnits (its Tables 1 to 4): the symbol, its scale in base units, its
/// dimension, and whether it takes SI prefixes.
struct Symbol {
    name: &'static str,
    scale: f64,
    dims: &'static [(usize, f64)],
    prefixes: bool,
}

const DEG: f64 = std::f64::consts::PI / 180.0;

/// The unit symbols vogate knows (VOUnits 1.0 §2.2, Tables 1 to 4), in base units.
#[rustfmt::skip]
const UNITS: &[Symbol] = &[
    // SI base and derived units (Table 1).
    Symbol { name: "m", scale: 1.0, dims: &[(L, 1.0)], prefixes: true },
    Symbol { name: "g", scale: 1e-3, dims: &[(M, 1.0)], prefixes: true },
    Symbol { name: "s", scale: 1.0, dims: &[(T, 1.0)], prefixes: true },
    Symbol { name: "A", scale: 1.0, dims: &[(I, 1.0)], prefixes: true },
    Symbol { name: "K", scale: 1.0, dims: &[(THETA, 1.0)], prefixes: true },
    Symbol { name: "mol", scale: 1.0, dims: &[(N, 1.0)], prefixes: true },
    Symbol { name: "cd", scale: 1.0, dims: &[(J, 1.0)], prefixes: true },
    Symbol { name: "rad", scale: 1.0, dims: &[(ANGLE, 1.0)], prefixes: true },
    Symbol { name: "sr", scale: 1.0, dims: &[(ANGLE, 2.0)], prefixes: true },
    Symbol { name: "Hz", scale: 1.0, dims: &[(T, -1.0)], prefixes: true },
    Symbol { name: "N", scale: 1.0, dims: &[(M, 1.0), (L, 1.0), (T, -2.0)], prefixes: true },
    Symbol { name: "Pa", scale: 1.0, dims: &[(M, 1.0), (L, -1.0), (T, -2.0)], prefixes: true },
    Symbol { name: "J", scale: 1.0, dims: &[(M, 1.0), (L, 2.0), (T, -2.0)], prefixes: true },
    Symbol { name: "W", scale: 1.0, dims: &[(M, 1.0), (L, 2.0), (T, -3.0)], prefixes: true },
    Symbol { name: "C", scale: 1.0, dims: &[(I, 1.0), (T, 1.0)], prefixes: true },
    Symbol { name: "V", scale: 1.0, dims: &[(M, 1.0), (L, 2.0), (T, -3.0), (I, -1.0)], prefixes: true },
    Symbol { name: "S", scale: 1.0, dims: &[(M, -1.0), (L, -2.0), (T, 3.0), (I, 2.0)], prefixes: true },
    Symbol { name: "F", scale: 1.0, dims: &[(M, -1.0), (L, -2.0), (T, 4.0), (I, 2.0)], prefixes: true },
    Symbol { name: "Wb", scale: 1.0, dims: &[(M, 1.0), (L, 2.0), (T, -2.0), (I, -1.0)], prefixes: true },
    Symbol { name: "T", scale: 1.0, dims: &[(M, 1.0), (T, -2.0), (I, -1.0)], prefixes: true },
    Symbol { name: "H", scale: 1.0, dims: &[(M, 1.0), (L, 2.0), (T, -2.0), (I, -2.0)], prefixes: true },
    Symbol { name: "lm", scale: 1.0, dims: &[(J, 1.0), (ANGLE, 2.0)], prefixes: true },
    Symbol { name: "lx", scale: 1.0, dims: &[(J, 1.0), (ANGLE, 2.0), (L, -2.0)], prefixes: true },
    Symbol { name: "Ohm", scale: 1.0, dims: &[(M, 1.0), (L, 2.0), (T, -3.0), (I, -2.0)], prefixes: true },
    // Angles, times and lengths of astronomy (Tables 2 and 3).
    Symbol { name: "deg", scale: DEG, dims: &[(ANGLE, 1.0)], prefixes: false },
    Symbol { name: "arcmin", scale: DEG / 60.0, dims: &[(ANGLE, 1.0)], prefixes: false },
    Symbol { name: "arcsec", scale: DEG / 3600.0, dims: &[(ANGLE, 1.0)], prefixes: false },
    Symbol { name: "mas", scale: DEG / 3_600_000.0, dims: &[(ANGLE, 1.0)], prefixes: false },
    Symbol { name: "uas", scale: DEG / 3_600_000_000.0, dims: &[(ANGLE, 1.0)], prefixes: false },
    Symbol { name: "min", scale: 60.0, dims: &[(T, 1.0)], prefixes: false },
    Symbol { name: "h", scale: 3600.0, dims: &[(T, 1.0)], prefixes: false },
    Symbol { name: "d", scale: 86400.0, dims: &[(T, 1.0)], prefixes: false },
    // The Julian year (IAU), as VOUnits defines a and yr.
    Symbol { name: "a", scale: 31_557_600.0, dims: &[(T, 1.0)], prefixes: true },
    Symbol { name: "yr", scale: 31_557_600.0, dims: &[(T, 1.0)], prefixes: true },
    // The astronomical unit (IAU 2012 B2) and the parsec (IAU 2015 B2: 648000/π au).
    Symbol { name: "au", scale: 149_597_870_700.0, dims: &[(L, 1.0)], prefixes: false },
    Symbol { name: "AU", scale: 149_597_870_700.0, dims: &[(L, 1.0)], prefixes: false },
    Symbol { name: "pc", scale: 149_597_870_700.0 * 648_000.0 / std::f64::consts::PI, dims: &[(L, 1.0)], prefixes: true },
    Symbol { name: "lyr", scale: 9_460_730_472_580_800.0, dims: &[(L, 1.0)], prefixes: true },
    Symbol { name: "Angstrom", scale: 1e-10, dims: &[(L, 1.0)], prefixes: false },
    Symbol { name: "angstrom", scale: 1e-10, dims: &[(L, 1.0)], prefixes: false },
    Symbol { name: "solRad", scale: 6.957e8, dims: &[(L, 1.0)], prefixes: false },
    Symbol { name: "solMass", scale: 1.98840987e30, dims: &[(M, 1.0)], prefixes: false },
    Symbol { name: "solLum", scale: 3.828e26, dims: &[(M, 1.0), (L, 2.0), (T, -3.0)], prefixes: false },
    Symbol { name: "u", scale: 1.660_539_066_60e-27, dims: &[(M, 1.0)], prefixes: false },
    // Energies, flux densities, and the CGS units (Table 4).
    Symbol { name: "eV", scale: 1.602_176_634e-19, dims: &[(M, 1.0), (L, 2.0), (T, -2.0)], prefixes: true },
    Symbol { name: "Ry", scale: 13.605_693_122_994 * 1.602_176_634e-19, dims: &[(M, 1.0), (L, 2.0), (T, -2.0)], prefixes: false },
    Symbol { name: "erg", scale: 1e-7, dims: &[(M, 1.0), (L, 2.0), (T, -2.0)], prefixes: true },
    Symbol { name: "Jy", scale: 1e-26, dims: &[(M, 1.0), (T, -2.0)], prefixes: true },
    Symbol { name: "G", scale: 1e-4, dims: &[(M, 1.0), (T, -2.0), (I, -1.0)], prefixes: true },
    Symbol { name: "barn", scale: 1e-28, dims: &[(L, 2.0)], prefixes: true },
    Symbol { name: "D", scale: 1e-21 / 299_792_458.0, dims: &[(I, 1.0), (T, 1.0), (L, 1.0)], prefixes: true },
    // Magnitudes, counts, pixels and information.
    Symbol { name: "mag", scale: 1.0, dims: &[(MAG, 1.0)], prefixes: true },
    Symbol { name: "ct", scale: 1.0, dims: &[(COUNT, 1.0)], prefixes: true },
    Symbol { name: "count", scale: 1.0, dims: &[(COUNT, 1.0)], prefixes: true },
    Symbol { name: "ph", scale: 1.0, dims: &[(COUNT, 1.0)], prefixes: true },
    Symbol { name: "photon", scale: 1.0, dims: &[(COUNT, 1.0)], prefixes: true },
    Symbol { name: "pix", scale: 1.0, dims: &[(PIXEL, 1.0)], prefixes: true },
    Symbol { name: "pixel", scale: 1.0, dims: &[(PIXEL, 1.0)], prefixes: true },
    Symbol { name: "bit", scale: 1.0, dims: &[(BIT, 1.0)], prefixes: true },
    Symbol { name: "byte", scale: 8.0, dims: &[(BIT, 1.0)], prefixes: true },
    // Dimensionless.
    Symbol { name: "%", scale: 0.01, dims: &[], prefixes: false },
];

/// The SI prefixes (VOUnits 1.0 §2.3); `u` is micro.
const PREFIXES: &[(&str, f64)] = &[
    ("da", 1e1),
    ("h", 1e2),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
    ("E", 1e18),
    ("Z", 1e21),
    ("Y", 1e24),
    ("d", 1e-1),
    ("c", 1e-2),
    ("m", 1e-3),
    ("u", 1e-6),
    ("n", 1e-9),
    ("p", 1e-12),
    ("f", 1e-15),
    ("a", 1e-18),
    ("z", 1e-21),
    ("y", 1e-24),
];

fn symbol(word: &str) -> Option<Unit> {
    let unit = |s: &Symbol, factor: f64| Unit {
        scale: s.scale * factor,
        dims: dims(s.dims),
    };
    if let Some(s) = UNITS.iter().find(|s| s.name == word) {
        return Some(unit(s, 1.0));
    }
    PREFIXES.iter().find_map(|(p, f)| {
        let rest = word.strip_prefix(p)?;
        UNITS
            .iter()
            .find(|s| s.prefixes && s.name == rest)
            .map(|s| unit(s, *f))
    })
}

impl Unit {
    fn times(self, other: Unit, sign: f64) -> Unit {
        let mut d = self.dims;
        for (a, b) in d.iter_mut().zip(other.dims) {
            *a += sign * b;
        }
        Unit {
            scale: if sign > 0.0 {
                self.scale * other.scale
            } else {
                self.scale / other.scale
            },
            dims: d,
        }
    }

    fn pow(self, e: f64) -> Unit {
        Unit {
            scale: self.scale.powf(e),
            dims: self.dims.map(|d| d * e),
        }
    }

    /// Read a VOUnits string. Errors name what could not be read.
    pub fn parse(text: &str) -> Result<Unit, String> {
        let mut p = Parser {
            s: text.trim().as_bytes(),
            i: 0,
            text,
        };
        if p.s.is_empty() {
            return Err("an empty unit".into());
        }
        let scale = p.scale_factor()?;
        let u = p.expression()?;
        if p.i < p.s.len() {
            return Err(p.error("cannot be read"));
        }
        Ok(Unit {
            scale: u.scale * scale,
            dims: u.dims,
        })
    }

    /// The factor that converts a value in `self` to `to`: value × factor. Errors when the
    /// dimensions differ.
    pub fn factor_to(&self, to: &Unit) -> Option<f64> {
        let same = self
            .dims
            .iter()
            .zip(to.dims)
            .all(|(a, b)| (a - b).abs() < 1e-12);
        same.then(|| self.scale / to.scale)
    }
}

struct Parser<'t> {
    s: &'t [u8],
    i: usize,
    text: &'t str,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!("'{}' {what} at character {}", self.text.trim(), self.i + 1)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// A leading numeric scale factor (`10**-3`, `1e-3`, `1.5`) and the space after it.
    fn scale_factor(&mut self) -> Result<f64, String> {
        if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
            return Ok(1.0);
        }
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || c == b'.' || c == b'e' || c == b'E')
            || (self.i > start
                && matches!(self.peek(), Some(b'+' | b'-'))
                && matches!(self.s[self.i - 1], b'e' | b'E'))
        {
            self.i += 1;
        }
        let number: f64 = std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| self.error("has a scale factor that is not a number"))?;
        let value = if self.s[self.i..].starts_with(b"**") {
            self.i += 2;
            number.powf(self.power()?)
        } else {
            number
        };
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
        if !(value.is_finite() && value > 0.0) {
            return Err(self.error("has a scale factor that is not a positive number"));
        }
        Ok(value)
    }

    /// A product of terms joined by `.` and `/`.
    fn expression(&mut self) -> Result<Unit, String> {
        let mut u = self.term()?;
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.i += 1;
                    u = u.times(self.term()?, 1.0);
                }
                Some(b'/') => {
                    self.i += 1;
                    u = u.times(self.term()?, -1.0);
                }
                _ => return Ok(u),
            }
        }
    }

    /// A unit symbol or a parenthesised expression, with an optional `**power`.
    fn term(&mut self) -> Result<Unit, String> {
        let base = if self.peek() == Some(b'(') {
            self.i += 1;
            let u = self.expression()?;
            if self.peek() != Some(b')') {
                return Err(self.error("has a '(' without its ')'"));
            }
            self.i += 1;
            u
        } else {
            let start = self.i;
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == b'%')
            {
                self.i += 1;
            }
            let word = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
            if word.is_empty() {
                return Err(self.error("expects a unit"));
            }
            symbol(word).ok_or_else(|| format!("'{word}' is not a VOUnits unit"))?
        };
        if self.s[self.i..].starts_with(b"**") {
            self.i += 2;
            let e = self.power()?;
            return Ok(base.pow(e));
        }
        Ok(base)
    }

    /// A power: an integer, or in parentheses an integer, a decimal or a fraction p/q.
    fn power(&mut self) -> Result<f64, String> {
        let paren = self.peek() == Some(b'(');
        if paren {
            self.i += 1;
        }
        let start = self.i;
        while self.peek().is_some_and(|c| {
            c.is_ascii_digit() || c == b'-' || c == b'+' || (paren && (c == b'.' || c == b'/'))
        }) {
            self.i += 1;
        }
        let t = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        let value = match t.split_once('/') {
            Some((p, q)) => match (p.parse::<f64>(), q.parse::<f64>()) {
                (Ok(p), Ok(q)) if q != 0.0 => Some(p / q),
                _ => None,
            },
            None => t.parse::<f64>().ok(),
        }
        .ok_or_else(|| self.error("has a power that is not a number"))?;
        if paren {
            if self.peek() != Some(b')') {
                return Err(self.error("has a power without its ')'"));
            }
            self.i += 1;
        }
        Ok(value)
    }
}

/// The factor converting a value in unit `from` to unit `to` (ADQL 2.1 §2.4, IN_UNIT), or
/// why not: a unit that cannot be read, or units of different dimensions.
pub fn conversion(from: &str, to: &str) -> Result<f64, String> {
    let a = Unit::parse(from).map_err(|e| format!("the value's unit: {e}"))?;
    let b = Unit::parse(to)?;
    a.factor_to(&b)
        .ok_or_else(|| format!("cannot convert {from} to {to}: they measure different things"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
    }

    #[test]
    fn astronomers_conversions() {
        for (from, to, want) in [
            ("deg", "arcsec", 3600.0),
            ("deg", "rad", std::f64::consts::PI / 180.0),
            ("mas", "deg", 1.0 / 3_600_000.0),
            ("arcmin", "mas", 60_000.0),
            ("mas/yr", "arcsec/a", 1e-3),
            ("km/s", "m/s", 1e3),
            ("km.s**-1", "m/s", 1e3),
            ("Jy", "mJy", 1e3),
            ("mJy", "W.m**-2.Hz**-1", 1e-29),
            ("erg/s", "W", 1e-7),
            ("erg/(cm**2.s)", "W/m**2", 1e-3),
            ("erg.s**-1.cm**-2.Angstrom**-1", "W.m**-3", 1e7),
            ("pc", "AU", 648_000.0 / std::f64::consts::PI),
            ("kpc", "pc", 1e3),
            ("AU", "m", 149_597_870_700.0),
            ("Gyr", "yr", 1e9),
            ("d", "h", 24.0),
            ("min", "s", 60.0),
            ("deg**2", "sr", (std::f64::consts::PI / 180.0).powi(2)),
            ("mag", "mmag", 1e3),
            ("10**-3 m", "mm", 1.0),
            ("1e3 m", "km", 1.0),
            ("m**(1/2)", "cm**(1/2)", 10.0),
            ("%", "", 0.0),
            ("Pa", "N/m**2", 1.0),
            ("cd", "mcd", 1e3),
            ("byte", "bit", 8.0),
            ("MHz", "s**-1", 1e6),
            ("nm", "Angstrom", 10.0),
            ("keV", "eV", 1e3),
            ("solMass", "kg", 1.98840987e30),
        ] {
            if to.is_empty() {
                continue;
            }
            let got = conversion(from, to).unwrap_or(f64::NAN);
            assert!(close(got, want), "{from} -> {to}: {got}, want {want}");
        }
    }

    #[test]
    fn incompatible_and_unreadable_units_are_refused() {
        for (from, to, word) in [
            ("deg", "m", "measure different things"),
            ("mag", "Jy", "measure different things"),
            ("deg", "", "empty unit"),
            ("rad", "", "empty unit"),
            (
                "km/s",
                "furlong/fortnight",
                "'furlong' is not a VOUnits unit",
            ),
            ("deg", "m**x", "power that is not a number"),
            ("deg", "(m", "without its ')'"),
            ("deg", "m s", "cannot be read"),
            ("ct", "s**-1", "measure different things"),
            (
                "foo",
                "deg",
                "the value's unit: 'foo' is not a VOUnits unit",
            ),
            ("kdeg", "deg", "'kdeg' is not a VOUnits unit"),
        ] {
            let e = conversion(from, to).expect_err("refused");
            assert!(e.contains(word), "{from} -> {to}: {e}");
        }
    }
}
