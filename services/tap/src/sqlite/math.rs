//! ADQL 2.1 §2.3 math and trigonometry and §2.5 LOWER / UPPER on SQLite, as PostgreSQL 15
//! computes them (its `float.c` and `numeric.c`), so that both backends give the same values
//! and refuse the same inputs with the same words:
//!
//! - doubles throughout (an integer argument is converted), the C library's functions;
//! - `value out of range: overflow` / `underflow` where PostgreSQL checks a result, domain
//!   errors in PostgreSQL's words (`cannot take logarithm of zero`, `input is out of range`);
//! - DEGREES and RADIANS with PostgreSQL's `RADIANS_PER_DEGREE`;
//! - ROUND and TRUNCATE on the decimal PostgreSQL makes of a double (`%.15g`, 15 significant
//!   digits), halves away from zero, back to the nearest double;
//! - MOD of integers as C's `%` (0 for `i64::MIN % -1`), FMOD (MOD of non-integers) as
//!   `a - trunc(a / b) * b` in doubles.

use rusqlite::functions::Context;
use rusqlite::types::{Value, ValueRef};

/// PostgreSQL's `RADIANS_PER_DEGREE` (src/include/utils/float.h: 0.0174532925199432957692, the
/// same double).
const RADIANS_PER_DEGREE: f64 = 0.017_453_292_519_943_295;

/// An error in PostgreSQL's words.
fn err(message: &str) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(message.into())
}

fn overflow() -> rusqlite::Error {
    err("value out of range: overflow")
}

fn underflow() -> rusqlite::Error {
    err("value out of range: underflow")
}

/// `vogate_fn(name, args...)`: the ADQL function `name` of `args`; NULL when an argument is
/// NULL.
pub fn call(ctx: &Context<'_>) -> rusqlite::Result<Value> {
    let name: String = ctx.get(0)?;
    let n = ctx.len() - 1;
    let mut args: Vec<ValueRef<'_>> = Vec::with_capacity(n);
    for i in 1..ctx.len() {
        let v = ctx.get_raw(i);
        if v == ValueRef::Null {
            return Ok(Value::Null);
        }
        args.push(v);
    }
    match super::udf::apply(&name, &args) {
        Some(result) => result,
        None => apply(&name, &args),
    }
}

fn float(v: &ValueRef<'_>) -> rusqlite::Result<f64> {
    match v {
        ValueRef::Integer(i) => Ok(*i as f64),
        ValueRef::Real(f) => Ok(*f),
        _ => Err(err(
            "a math function was given a value that is not a number",
        )),
    }
}

/// The function `name` of non-NULL `args`.
pub fn apply(name: &str, args: &[ValueRef<'_>]) -> rusqlite::Result<Value> {
    let x = || args.first().map_or(Ok(0.0), float);
    let y = || args.get(1).map_or(Ok(0.0), float);
    let real = |r: f64| Ok(Value::Real(r));
    match name {
        "ABS" => match args.first() {
            Some(ValueRef::Integer(i)) => i
                .checked_abs()
                .map(Value::Integer)
                .ok_or_else(|| err("bigint out of range")),
            _ => real(x()?.abs()),
        },
        "CEILING" => real(x()?.ceil()),
        "FLOOR" => real(x()?.floor()),
        "DEGREES" => {
            let a = x()?;
            checked(a / RADIANS_PER_DEGREE, a.is_infinite(), a == 0.0)
        }
        "RADIANS" => {
            let a = x()?;
            checked(a * RADIANS_PER_DEGREE, a.is_infinite(), a == 0.0)
        }
        "EXP" => {
            let a = x()?;
            if a.is_nan() {
                real(a)
            } else if a.is_infinite() {
                real(if a > 0.0 { a } else { 0.0 })
            } else {
                let r = a.exp();
                if r.is_infinite() {
                    Err(overflow())
                } else if r == 0.0 {
                    Err(underflow())
                } else {
                    real(r)
                }
            }
        }
        "LOG" | "LOG10" => {
            let a = x()?;
            if a == 0.0 {
                return Err(err("cannot take logarithm of zero"));
            }
            if a < 0.0 {
                return Err(err("cannot take logarithm of a negative number"));
            }
            let r = if name == "LOG" { a.ln() } else { a.log10() };
            checked(r, a.is_infinite(), a == 1.0)
        }
        "SQRT" => {
            let a = x()?;
            if a < 0.0 {
                return Err(err("cannot take square root of a negative number"));
            }
            real(a.sqrt())
        }
        "POWER" => power(x()?, y()?).map(Value::Real),
        "PI" => real(std::f64::consts::PI),
        // PostgreSQL's substr: characters start..start+length of the string, positions
        // before 1 holding nothing (SQLite's substr counts a negative start from the end).
        "SUBSTRING" => {
            let ValueRef::Text(t) = args[0] else {
                return Err(err("SUBSTRING takes a string"));
            };
            let text = std::str::from_utf8(t).map_err(|e| err(&e.to_string()))?;
            let int = |v: &ValueRef<'_>| match v {
                ValueRef::Integer(i) => Ok(*i),
                _ => Err(err("SUBSTRING takes integers")),
            };
            let start = int(&args[1])?;
            let end = match args.get(2) {
                Some(n) => {
                    let n = int(n)?;
                    if n < 0 {
                        return Err(err("negative substring length not allowed"));
                    }
                    start.saturating_add(n)
                }
                None => i64::MAX,
            };
            let from = usize::try_from(start.max(1) - 1).unwrap_or(0);
            let count =
                usize::try_from(end.saturating_sub(start.max(1)).max(0)).unwrap_or(usize::MAX);
            Ok(Value::Text(text.chars().skip(from).take(count).collect()))
        }
        // COORD1: a longitude in [0, 360), as `x - 360 floor(x / 360)` (the same on
        // PostgreSQL).
        "RA_NORMALISED" => {
            let a = x()?;
            real(a - 360.0 * (a / 360.0).floor())
        }
        "ACOS" | "ASIN" => {
            let a = x()?;
            if a.is_nan() {
                return real(a);
            }
            if !(-1.0..=1.0).contains(&a) {
                return Err(err("input is out of range"));
            }
            real(if name == "ACOS" { a.acos() } else { a.asin() })
        }
        "ATAN" => real(x()?.atan()),
        "ATAN2" => real(x()?.atan2(y()?)),
        "COS" | "SIN" | "TAN" | "COT" => {
            let a = x()?;
            if a.is_nan() {
                return real(a);
            }
            if a.is_infinite() {
                return Err(err("input is out of range"));
            }
            real(match name {
                "COS" => a.cos(),
                "SIN" => a.sin(),
                "TAN" => a.tan(),
                _ => 1.0 / a.tan(),
            })
        }
        "MOD" => match (args.first(), args.get(1)) {
            (Some(ValueRef::Integer(a)), Some(ValueRef::Integer(b))) => {
                if *b == 0 {
                    return Err(err("division by zero"));
                }
                Ok(Value::Integer(a.checked_rem(*b).unwrap_or(0)))
            }
            _ => fmod(x()?, y()?),
        },
        "FMOD" => fmod(x()?, y()?),
        "ROUND" | "TRUNCATE" => {
            let places = match args.get(1) {
                Some(ValueRef::Integer(n)) => *n,
                Some(other) => float(other)? as i64,
                None => 0,
            };
            real(decimal_round(&args[0], places, name == "ROUND")?)
        }
        "LOWER" | "UPPER" => match args.first() {
            Some(ValueRef::Text(t)) => {
                let t = String::from_utf8_lossy(t);
                Ok(Value::Text(if name == "LOWER" {
                    t.to_lowercase()
                } else {
                    t.to_uppercase()
                }))
            }
            _ => Err(err("LOWER and UPPER take text")),
        },
        other => Err(err(&format!("function {other} is not known"))),
    }
}

/// `r`, or PostgreSQL's overflow error when it is infinite from finite input
/// (`input_infinite` false), or its underflow error when it is 0 from input that could not
/// give 0 (`zero_ok` false).
fn checked(r: f64, input_infinite: bool, zero_ok: bool) -> rusqlite::Result<Value> {
    if r.is_infinite() && !input_infinite {
        Err(overflow())
    } else if r == 0.0 && !zero_ok {
        Err(underflow())
    } else {
        Ok(Value::Real(r))
    }
}

/// PostgreSQL's `dpow` (float.c): NaN rules, the two domain errors, infinities, and
/// overflow / underflow of the result.
fn power(x: f64, y: f64) -> rusqlite::Result<f64> {
    if x.is_nan() {
        return Ok(if y.is_nan() || y != 0.0 {
            f64::NAN
        } else {
            1.0
        });
    }
    if y.is_nan() {
        return Ok(if x != 1.0 { f64::NAN } else { 1.0 });
    }
    if x == 0.0 && y < 0.0 {
        return Err(err("zero raised to a negative power is undefined"));
    }
    if x < 0.0 && y.floor() != y {
        return Err(err(
            "a negative number raised to a non-integer power yields a complex result",
        ));
    }
    if y.is_infinite() || x.is_infinite() {
        return Ok(x.powf(y));
    }
    let r = x.powf(y);
    if r.is_infinite() {
        Err(overflow())
    } else if r == 0.0 && x != 0.0 {
        Err(underflow())
    } else {
        Ok(r)
    }
}

/// MOD of doubles: `a - trunc(a / b) * b`, each step a double operation.
fn fmod(a: f64, b: f64) -> rusqlite::Result<Value> {
    if b == 0.0 && !a.is_nan() {
        return Err(err("division by zero"));
    }
    Ok(Value::Real(a - (a / b).trunc() * b))
}

/// ROUND (halves away from zero) or TRUNCATE of `v` to `places` decimals on the decimal
/// PostgreSQL makes of it: an integer exactly, a double to 15 significant digits (`%.15g`,
/// its `float8_numeric`); then the nearest double (`numeric_float8`).
fn decimal_round(v: &ValueRef<'_>, places: i64, round: bool) -> rusqlite::Result<f64> {
    // The value as sign, integer mantissa m and exponent q: |v| = m * 10^q.
    let (negative, m, q): (bool, i128, i64) = match v {
        ValueRef::Integer(i) => (*i < 0, i128::from(*i).abs(), 0),
        ValueRef::Real(f) if !f.is_finite() => return Ok(*f),
        ValueRef::Real(f) => {
            let text = format!("{:.14e}", f.abs());
            let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
            let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
            let m: i128 = digits.parse().unwrap_or(0);
            let e: i64 = exp.parse().unwrap_or(0);
            (f.is_sign_negative(), m, e - 14)
        }
        _ => return Err(err("ROUND and TRUNCATE take numbers")),
    };
    let places = places.clamp(-1000, 1000);
    if q >= -places {
        // No digit to drop.
        return Ok(to_f64(negative, m, q));
    }
    let drop = -places - q;
    if drop > 38 {
        return Ok(0.0);
    }
    let div = 10i128.pow(drop as u32);
    let (mut kept, rest) = (m / div, m % div);
    if round && rest * 2 >= div {
        kept += 1;
    }
    Ok(to_f64(negative, kept, -places))
}

/// The nearest double to ±m * 10^q (0 has no sign, as in numeric).
fn to_f64(negative: bool, m: i128, q: i64) -> f64 {
    if m == 0 {
        return 0.0;
    }
    let sign = if negative { "-" } else { "" };
    format!("{sign}{m}e{q}").parse().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, args: &[ValueRef<'_>]) -> Value {
        apply(name, args).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn e(name: &str, args: &[ValueRef<'_>]) -> String {
        apply(name, args).expect_err(name).to_string()
    }

    #[test]
    fn round_and_truncate_are_postgresql_numeric_s() {
        use ValueRef::{Integer as I, Real as R};
        // Values PostgreSQL 15 gives (SELECT round(x::numeric, n)::float8 ...).
        for (x, n, round, want) in [
            (2.5, 0, true, 3.0),
            (-2.5, 0, true, -3.0),
            (2.675, 2, true, 2.68), // 2.67499999... as a double, 2.675 as %.15g
            (1.005, 2, true, 1.01),
            (123.456, -1, true, 120.0),
            (155.0, -1, true, 160.0),
            (0.1 + 0.2, 15, true, 0.3),
            (-0.4, 0, true, 0.0),
            (2.99, 1, false, 2.9),
            (-2.99, 0, false, -2.0),
            (1e300, 2, true, 1e300),
            (12345.678, -10, true, 0.0),
        ] {
            let got = decimal_round(&R(x), n, round).expect("a value");
            assert_eq!(got, want, "{x} {n} {round}");
        }
        assert_eq!(decimal_round(&I(-15), -1, true).expect("v"), -20.0);
        assert_eq!(
            decimal_round(&I(i64::MAX), 0, true).expect("v"),
            i64::MAX as f64
        );
        assert!(decimal_round(&R(f64::NAN), 1, true).expect("v").is_nan());
    }

    #[test]
    fn domain_errors_are_postgresql_s() {
        use ValueRef::{Integer as I, Real as R};
        assert_eq!(e("LOG", &[I(0)]), "cannot take logarithm of zero");
        assert_eq!(
            e("LOG10", &[R(-1.0)]),
            "cannot take logarithm of a negative number"
        );
        assert_eq!(
            e("SQRT", &[R(-1.0)]),
            "cannot take square root of a negative number"
        );
        assert_eq!(e("ACOS", &[R(1.5)]), "input is out of range");
        assert_eq!(e("SIN", &[R(f64::INFINITY)]), "input is out of range");
        assert_eq!(
            e("POWER", &[I(0), I(-1)]),
            "zero raised to a negative power is undefined"
        );
        assert_eq!(
            e("POWER", &[R(-8.0), R(0.5)]),
            "a negative number raised to a non-integer power yields a complex result"
        );
        assert_eq!(e("EXP", &[R(1000.0)]), "value out of range: overflow");
        assert_eq!(e("EXP", &[R(-1000.0)]), "value out of range: underflow");
        assert_eq!(e("MOD", &[I(5), I(0)]), "division by zero");
        assert_eq!(e("FMOD", &[R(5.0), R(0.0)]), "division by zero");
        assert_eq!(e("ABS", &[I(i64::MIN)]), "bigint out of range");
    }

    #[test]
    fn values_are_the_c_library_s_in_doubles() {
        use ValueRef::{Integer as I, Real as R};
        assert_eq!(f("ABS", &[I(-3)]), Value::Integer(3));
        assert_eq!(f("MOD", &[I(-7), I(3)]), Value::Integer(-1));
        assert_eq!(f("MOD", &[I(i64::MIN), I(-1)]), Value::Integer(0));
        assert_eq!(f("FMOD", &[R(5.5), R(2.0)]), Value::Real(1.5));
        assert_eq!(f("FMOD", &[R(-5.5), R(2.0)]), Value::Real(-1.5));
        assert_eq!(f("DEGREES", &[R(std::f64::consts::PI)]), Value::Real(180.0));
        assert_eq!(f("RADIANS", &[I(180)]), Value::Real(std::f64::consts::PI));
        assert_eq!(f("POWER", &[I(2), I(10)]), Value::Real(1024.0));
        assert_eq!(f("POWER", &[R(-2.0), I(3)]), Value::Real(-8.0));
        assert_eq!(
            f("ATAN2", &[I(1), I(1)]),
            Value::Real(std::f64::consts::FRAC_PI_4)
        );
        assert_eq!(f("CEILING", &[R(-1.5)]), Value::Real(-1.0));
        assert_eq!(
            f("LOWER", &[ValueRef::Text(b"AbC")]),
            Value::Text("abc".into())
        );
    }
}
