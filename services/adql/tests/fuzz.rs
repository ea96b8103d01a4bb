//! Fuzzing parse + check + render on stable Rust: random queries from a generator that
//! follows the ADQL grammar (all clauses, joins, subqueries, set operations, every ADQL
//! function name, geometry, literals of every kind), half of them well-typed over the
//! catalog so that they reach the checker's and renderer's deeper paths (about a third of
//! all inputs translate), and near-valid ones made from them by
//! random edits (tokens deleted, duplicated or swapped, stray quotes, brackets, keywords and
//! bytes inserted, deep nesting). Every input must give SQL or an error, never a panic; a
//! stack overflow would abort the binary and fail the run.
//!
//! It runs for `VOGATE_FUZZ_SECS` seconds (5 by default; CI sets 120) from the seed
//! `VOGATE_FUZZ_SEED` (fixed by default, so a failure can be replayed), and prints how many
//! inputs it tried and how many translated.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use vo_adql::{translate, Catalog, ColumnInfo, SqlDialect, TableInfo};
use vo_common::FieldMeta;

struct Cat(Vec<TableInfo>);

impl Catalog for Cat {
    fn tables(&self) -> &[TableInfo] {
        &self.0
    }
}

struct Plain;

impl SqlDialect for Plain {
    fn table_ref(&self, t: &TableInfo) -> String {
        format!("\"{}\"", t.qualified_name())
    }
    fn column_ref(&self, q: &str, _t: &TableInfo, c: &ColumnInfo) -> String {
        format!("{q}.\"{}\"", c.name)
    }
    fn contains_point_circle(&self, a: &str, b: &str, c: &str, d: &str, r: &str) -> String {
        format!("pc({a}, {b}, {c}, {d}, {r})")
    }
    fn polygon_region(&self, v: &[(String, String)]) -> String {
        let parts: Vec<String> = v.iter().map(|(a, b)| format!("{a} {b}")).collect();
        format!("poly({})", parts.join(", "))
    }
    fn contains_point_region(&self, ra: &str, dec: &str, r: &str) -> String {
        format!("pr({ra}, {dec}, {r})")
    }
    fn intersects_region_circle(&self, r: &str, a: &str, b: &str, c: &str) -> String {
        format!("rc({r}, {a}, {b}, {c})")
    }
    fn intersects_regions(&self, a: &str, b: &str) -> String {
        format!("rr({a}, {b})")
    }
    fn geometry_value(&self, xtype: &str, numbers: &[String]) -> String {
        format!("{xtype}({})", numbers.join(", "))
    }
    fn distance(&self, a: &str, b: &str, c: &str, d: &str) -> String {
        format!("dist({a}, {b}, {c}, {d})")
    }
    fn limit(&self, n: u64) -> String {
        format!(" LIMIT {n}")
    }
}

fn column(name: &str, datatype: &str, xtype: Option<&str>) -> ColumnInfo {
    ColumnInfo {
        name: name.into(),
        field: FieldMeta {
            name: name.into(),
            datatype: datatype.into(),
            xtype: xtype.map(String::from),
            ..Default::default()
        },
    }
}

fn catalog() -> Cat {
    Cat(vec![
        TableInfo {
            schema: Some("ivoa".into()),
            name: "ObsCore".into(),
            position: Some(("s_ra".into(), "s_dec".into())),
            columns: vec![
                column("obs_id", "char", None),
                column("s_ra", "double", None),
                column("s_dec", "double", None),
                column("calib_level", "int", None),
                column("s_region", "char", Some("adql:REGION")),
                column("\"size\"", "long", None),
            ],
        },
        TableInfo {
            schema: Some("cat".into()),
            name: "t".into(),
            position: Some(("ra".into(), "dec".into())),
            columns: vec![
                column("id", "long", None),
                column("ra", "double", None),
                column("dec", "double", None),
                column("name", "char", None),
                column("obs_id", "char", None),
            ],
        },
    ])
}

/// A small deterministic generator (a 64-bit LCG).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

const COLUMNS: &[&str] = &[
    "obs_id",
    "s_ra",
    "s_dec",
    "calib_level",
    "s_region",
    "\"size\"",
    "id",
    "ra",
    "dec",
    "name",
    "o.obs_id",
    "o.s_ra",
    "t.ra",
    "t.dec",
    "q.x",
    "nosuch",
    "o.nosuch",
    "\"S_RA\"",
    "OBS_ID",
];
const FUNCTIONS: &[&str] = &[
    "ABS",
    "CEILING",
    "DEGREES",
    "EXP",
    "FLOOR",
    "LOG",
    "LOG10",
    "MOD",
    "PI",
    "POWER",
    "RADIANS",
    "RAND",
    "ROUND",
    "SQRT",
    "TRUNCATE",
    "ACOS",
    "ASIN",
    "ATAN",
    "ATAN2",
    "COS",
    "COT",
    "SIN",
    "TAN",
    "LOWER",
    "UPPER",
    "AREA",
    "CENTROID",
    "COORD1",
    "COORD2",
    "COORDSYS",
    "IN_UNIT",
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "COALESCE",
    "ivo_healpix_index",
    "pg_sleep",
    "foo",
];
const LITERALS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2.5",
    ".5",
    "1e3",
    "1E-300",
    "1e999",
    "0xFF",
    "0x7FFFFFFFFFFFFFFFF",
    "'a'",
    "'it''s'",
    "''",
    "NULL",
    "9223372036854775807",
    "18446744073709551616",
    "360",
    "-90",
    "90.0001",
    "'ICRS'",
    "'GALACTIC'",
];

struct Gen {
    rng: Rng,
    depth: usize,
}

impl Gen {
    fn deeper(&mut self) -> bool {
        self.depth < 6 && self.rng.chance(55)
    }

    fn value(&mut self) -> String {
        self.depth += 1;
        let out = if !self.deeper() {
            match self.rng.below(3) {
                0 => self.rng.pick(COLUMNS).to_string(),
                _ => self.rng.pick(LITERALS).to_string(),
            }
        } else {
            match self.rng.below(12) {
                0 => format!(
                    "{} {} {}",
                    self.value(),
                    self.rng.pick(&["+", "-", "*", "/", "||"]),
                    self.value()
                ),
                1 => format!("-{}", self.value()),
                2 => format!("({})", self.value()),
                3 => {
                    let f = self.rng.pick(FUNCTIONS);
                    let n = self.rng.below(4);
                    let args: Vec<String> = (0..n).map(|_| self.value()).collect();
                    let distinct = if self.rng.chance(10) { "DISTINCT " } else { "" };
                    format!("{f}({distinct}{})", args.join(", "))
                }
                4 => "COUNT(*)".into(),
                5 => self.geometry(),
                6 => format!("DISTANCE({}, {})", self.point(), self.point()),
                7 => format!(
                    "CASE WHEN {} THEN {} ELSE {} END",
                    self.condition(),
                    self.value(),
                    self.value()
                ),
                8 => format!("({})", self.query()),
                9 => format!(
                    "CAST({} AS {})",
                    self.value(),
                    self.rng.pick(&[
                        "INTEGER",
                        "DOUBLE PRECISION",
                        "VARCHAR(3)",
                        "CHAR",
                        "TIMESTAMP",
                        "POINT",
                        "FLOAT"
                    ])
                ),
                10 => format!(
                    "{}({})",
                    self.rng.pick(&["CONTAINS", "INTERSECTS"]),
                    self.geometry() + ", " + &self.geometry()
                ),
                _ => self.rng.pick(COLUMNS).to_string(),
            }
        };
        self.depth -= 1;
        out
    }

    fn point(&mut self) -> String {
        let frame = if self.rng.chance(50) { "'ICRS', " } else { "" };
        format!("POINT({frame}{}, {})", self.value(), self.value())
    }

    fn geometry(&mut self) -> String {
        match self.rng.below(6) {
            0 => self.point(),
            1 => format!(
                "CIRCLE('ICRS', {}, {}, {})",
                self.value(),
                self.value(),
                self.value()
            ),
            2 => {
                let n = 2 * (2 + self.rng.below(4));
                let v: Vec<String> = (0..n)
                    .map(|_| self.rng.pick(LITERALS).to_string())
                    .collect();
                format!("POLYGON({})", v.join(", "))
            }
            3 => format!("BOX({}, {}, 1, 1)", self.value(), self.value()),
            4 => "REGION('CIRCLE ICRS 1 2 3')".into(),
            _ => "s_region".into(),
        }
    }

    fn condition(&mut self) -> String {
        self.depth += 1;
        let n = if self.deeper() { 11 } else { 4 };
        let out = match self.rng.below(n) {
            0 => format!(
                "{} {} {}",
                self.value(),
                self.rng.pick(&["=", "<>", "!=", "<", "<=", ">", ">="]),
                self.value()
            ),
            1 => format!(
                "{} IS {}NULL",
                self.value(),
                if self.rng.chance(50) { "NOT " } else { "" }
            ),
            2 => format!(
                "{} BETWEEN {} AND {}",
                self.value(),
                self.value(),
                self.value()
            ),
            3 => format!("{} LIKE {}", self.value(), self.value()),
            4 => format!("{} AND {}", self.condition(), self.condition()),
            5 => format!("{} OR {}", self.condition(), self.condition()),
            6 => format!("NOT ({})", self.condition()),
            7 => format!("{} IN ({}, {})", self.value(), self.value(), self.value()),
            8 => format!("{} IN ({})", self.value(), self.query()),
            9 => format!("EXISTS ({})", self.query()),
            _ => format!(
                "{}({}, {}) = 1",
                self.rng.pick(&["CONTAINS", "INTERSECTS"]),
                self.geometry(),
                self.geometry()
            ),
        };
        self.depth -= 1;
        out
    }

    fn table(&mut self) -> String {
        self.depth += 1;
        let n = if self.deeper() { 6 } else { 3 };
        let out = match self.rng.below(n) {
            0 => "ivoa.ObsCore AS o".to_string(),
            1 => "cat.t AS t".into(),
            2 => self
                .rng
                .pick(&[
                    "ivoa.ObsCore",
                    "cat.t",
                    "nosuch.table",
                    "c",
                    "TAP_UPLOAD.up",
                ])
                .into(),
            3 => format!("({}) AS q", self.query()),
            4 => {
                let kind = self.rng.pick(&[
                    "JOIN",
                    "LEFT JOIN",
                    "RIGHT OUTER JOIN",
                    "FULL JOIN",
                    "NATURAL JOIN",
                    "CROSS JOIN",
                    "INNER JOIN",
                ]);
                let cond = match self.rng.below(3) {
                    0 => format!(" ON {}", self.condition()),
                    1 => format!(" USING ({})", self.rng.pick(&["obs_id", "id", "nosuch"])),
                    _ => String::new(),
                };
                format!("{} {kind} {}{cond}", self.table(), self.table())
            }
            _ => format!("{}, {}", self.table(), self.table()),
        };
        self.depth -= 1;
        out
    }

    fn select(&mut self) -> String {
        let mut q = String::from("SELECT ");
        if self.rng.chance(20) {
            q.push_str(self.rng.pick(&["DISTINCT ", "ALL "]));
        }
        if self.rng.chance(20) {
            q.push_str(&format!("TOP {} ", self.rng.below(5)));
        }
        let n = 1 + self.rng.below(3);
        let items: Vec<String> = (0..n)
            .map(|_| match self.rng.below(6) {
                0 => "*".to_string(),
                1 => "o.*".into(),
                2 => format!("{} AS x", self.value()),
                _ => self.value(),
            })
            .collect();
        q.push_str(&items.join(", "));
        q.push_str(" FROM ");
        q.push_str(&self.table());
        if self.rng.chance(60) {
            q.push_str(&format!(" WHERE {}", self.condition()));
        }
        if self.rng.chance(20) {
            q.push_str(&format!(" GROUP BY {}", self.value()));
            if self.rng.chance(50) {
                q.push_str(&format!(" HAVING {}", self.condition()));
            }
        }
        q
    }

    fn query(&mut self) -> String {
        self.depth += 1;
        let mut q = self.select();
        if self.deeper() && self.rng.chance(30) {
            let op = self
                .rng
                .pick(&["UNION", "UNION ALL", "INTERSECT", "EXCEPT ALL", "EXCEPT"]);
            q = format!("{q} {op} {}", self.select());
        }
        if self.rng.chance(30) {
            q.push_str(&format!(
                " ORDER BY {} {}",
                self.value(),
                self.rng.pick(&["ASC", "DESC", ""])
            ));
        }
        if self.rng.chance(10) {
            q.push_str(&format!(" OFFSET {}", self.rng.below(10)));
        }
        self.depth -= 1;
        q
    }

    fn top(&mut self) -> String {
        let q = self.query();
        if self.rng.chance(15) {
            let inner = self.query();
            format!("WITH c AS ({inner}) {q}")
        } else {
            q
        }
    }

    /// A numeric value over `o` (ivoa.ObsCore) that type-checks.
    fn num(&mut self) -> String {
        self.depth += 1;
        let out = if !self.deeper() {
            self.rng
                .pick(&[
                    "o.s_ra",
                    "o.s_dec",
                    "o.calib_level",
                    "1",
                    "2.5",
                    "-3",
                    "0x10",
                    "1e3",
                ])
                .to_string()
        } else {
            match self.rng.below(8) {
                0 => format!("{} {} {}", self.num(), self.rng.pick(&["+", "-", "*", "/"]), self.num()),
                1 => format!("-({})", self.num()),
                2 => format!("CASE WHEN {} THEN {} ELSE {} END", self.cond(), self.num(), self.num()),
                3 => format!("COALESCE({}, {})", self.num(), self.num()),
                4 => format!("CAST({} AS {})", self.num(), self.rng.pick(&["INTEGER", "BIGINT", "REAL", "DOUBLE PRECISION", "SMALLINT"])),
                5 => format!("DISTANCE(POINT('ICRS', o.s_ra, o.s_dec), POINT('ICRS', {}, {}))", self.rng.below(360), self.rng.below(90)),
                6 => "(SELECT MAX(p.s_ra) FROM ivoa.ObsCore AS p WHERE p.calib_level = o.calib_level)".to_string(),
                _ => format!("({})", self.num()),
            }
        };
        self.depth -= 1;
        out
    }

    /// A condition over `o` that type-checks.
    fn cond(&mut self) -> String {
        self.depth += 1;
        let n = if self.deeper() { 9 } else { 4 };
        let out = match self.rng.below(n) {
            0 => format!(
                "{} {} {}",
                self.num(),
                self.rng.pick(&["=", "<>", "<", "<=", ">", ">="]),
                self.num()
            ),
            1 => format!(
                "o.obs_id {}LIKE '%{}%'",
                if self.rng.chance(30) { "NOT " } else { "" },
                self.rng.below(10)
            ),
            2 => format!(
                "{} IS {}NULL",
                self.num(),
                if self.rng.chance(50) { "NOT " } else { "" }
            ),
            3 => format!(
                "CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', {}, {}, {})) = 1",
                self.rng.below(360),
                self.rng.below(180) as i64 - 90,
                1 + self.rng.below(20)
            ),
            4 => format!("({} AND {})", self.cond(), self.cond()),
            5 => format!("({} OR {})", self.cond(), self.cond()),
            6 => format!("NOT {}", self.cond()),
            7 => format!("{} BETWEEN {} AND {}", self.num(), self.num(), self.num()),
            _ => format!(
                "EXISTS (SELECT 1 AS one FROM cat.t AS t WHERE t.obs_id = o.obs_id AND {})",
                self.cond()
            ),
        };
        self.depth -= 1;
        out
    }

    /// A query that type-checks (so that fuzzing reaches the checker's and renderer's
    /// deeper paths): over ivoa.ObsCore as `o`, optionally joined with cat.t.
    fn typed(&mut self) -> String {
        let from = self.rng.pick(&[
            "ivoa.ObsCore AS o",
            "ivoa.ObsCore AS o JOIN cat.t AS t ON o.obs_id = t.obs_id",
            "ivoa.ObsCore AS o LEFT JOIN cat.t AS t USING (obs_id)",
            "ivoa.ObsCore AS o, cat.t AS t",
        ]);
        let q = match self.rng.below(4) {
            0 => format!(
                "SELECT o.calib_level, COUNT(*) AS n, AVG({}) AS m FROM {from} WHERE {} GROUP BY o.calib_level HAVING COUNT(*) > {} ORDER BY n DESC, 1",
                self.num(),
                self.cond(),
                self.rng.below(3)
            ),
            1 => format!(
                "SELECT o.obs_id, {} AS x FROM {from} WHERE {} UNION ALL SELECT o.obs_id, {} FROM ivoa.ObsCore AS o ORDER BY 2",
                self.num(),
                self.cond(),
                self.num()
            ),
            _ => format!(
                "SELECT {}o.obs_id, {} AS x, {} AS y FROM {from} WHERE {} ORDER BY x{}",
                if self.rng.chance(20) { "TOP 5 " } else { "" },
                self.num(),
                self.num(),
                self.cond(),
                if self.rng.chance(20) { " OFFSET 2" } else { "" }
            ),
        };
        if self.rng.chance(20) {
            format!(
                "WITH c AS (SELECT o.obs_id FROM ivoa.ObsCore AS o WHERE {}) {q}",
                self.cond()
            )
        } else {
            q
        }
    }

    /// A near-valid variant of `q`: a few random edits.
    fn mutate(&mut self, q: &str) -> String {
        let mut s: Vec<char> = q.chars().collect();
        for _ in 0..1 + self.rng.below(4) {
            let at = self.rng.below(s.len() + 1);
            match self.rng.below(7) {
                0 if !s.is_empty() => {
                    let end = (at + self.rng.below(12)).min(s.len());
                    s.drain(at.min(end)..end);
                }
                1 => {
                    let junk = self.rng.pick(&[
                        "(", ")", ",", "'", "\"", "--", "0x", "1e", "é", ";", "SELECT", "FROM",
                        "WHERE", "JOIN", "AND", "*", ".", "||", "!=", "<>", "\0", "\u{feff}",
                        " size ", "POINT(", "))))",
                    ]);
                    for (i, c) in junk.chars().enumerate() {
                        s.insert((at + i).min(s.len()), c);
                    }
                }
                2 if !s.is_empty() => {
                    let start = at.min(s.len() - 1);
                    let end = (start + self.rng.below(30)).min(s.len());
                    let copy: Vec<char> = s[start..end].to_vec();
                    for (i, c) in copy.into_iter().enumerate() {
                        s.insert((at + i).min(s.len()), c);
                    }
                }
                3 => {
                    let n = 1 + self.rng.below(300);
                    let wrap: String = "(".repeat(n);
                    for (i, c) in wrap.chars().enumerate() {
                        s.insert((at + i).min(s.len()), c);
                    }
                }
                4 => {
                    let b = (self.rng.next() % 128) as u8 as char;
                    s.insert(at.min(s.len()), b);
                }
                5 if s.len() > 2 => {
                    let (a, b) = (self.rng.below(s.len()), self.rng.below(s.len()));
                    s.swap(a, b);
                }
                _ => {}
            }
        }
        s.into_iter().collect()
    }
}

fn main() {
    let secs: u64 = std::env::var("VOGATE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let seed: u64 = std::env::var("VOGATE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261203);
    let cat = catalog();
    let mut g = Gen {
        rng: Rng(seed),
        depth: 0,
    };
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (mut tried, mut translated) = (0u64, 0u64);
    // Silence the default panic message: a panic is reported with its input below.
    std::panic::set_hook(Box::new(|_| {}));
    while Instant::now() < deadline {
        // Half the inputs type-check (before any edit), half follow the grammar only.
        let q = if g.rng.chance(50) { g.typed() } else { g.top() };
        let q = if g.rng.chance(40) { g.mutate(&q) } else { q };
        let out = catch_unwind(AssertUnwindSafe(|| translate(&q, &cat, &Plain)));
        tried += 1;
        match out {
            Ok(Ok(t)) => {
                translated += 1;
                assert!(!t.sql.is_empty());
            }
            Ok(Err(e)) => assert!(e.message.starts_with("ADQL"), "{q}: {}", e.message),
            Err(_) => {
                eprintln!("vo-adql panicked on input #{tried} (seed {seed}):\n{q}");
                std::process::exit(1);
            }
        }
    }
    println!("fuzz: {tried} inputs in {secs} s (seed {seed}): {translated} translated, the rest refused with an ADQL error; no panic");
}
