//! The IVOA lyonetia ADQL corpus (../shared/corpus/adql/lyonetia/adql): every query parsed
//! without a catalog (its tables are placeholders), one test case per entry. An entry marked
//! `valid="true"` must parse; one marked `valid="false"` must be refused with a position.
//! The functions an entry declares in its `<functions>` element are declared to the parser.
//!
//! `ivoa/` must agree 100%. `gavo/` (DaCHS's own unit tests, which accept some of DaCHS's
//! extensions) must agree for at least 99% of its entries; the entries where vogate
//! deliberately disagrees are listed in [`GAVO_EXCEPTIONS`] with the reason, and each of
//! them must still disagree (so the list stays true).

use std::path::{Path, PathBuf};

use vo_adql::parser::{parse, UdfSignature};
use vo_testkit::Test;

/// gavo entries (by uuid) where vogate refuses what DaCHS accepts, and why.
const GAVO_EXCEPTIONS: &[(&str, &str)] = &[(
    // In simpleunit.xml and, with other whitespace, in whitespace.xml (the same uuid).
    "d4c3a72c-4458-11e6-96e2-28b2bdcff70b",
    "`t1 INNER JOIN (t2 JOIN t3)`: INNER JOIN written out needs ON or USING (SQL-92 §7.5; \
     ivoa/2_from.xml marks `t1 INNER JOIN t2` invalid); a bare JOIN without one is read as a \
     cross join, as DaCHS reads it",
)];

struct Entry {
    file: String,
    uuid: String,
    valid: bool,
    adql: String,
    udfs: Vec<UdfSignature>,
}

fn unescape(s: &str) -> String {
    let s = match (s.find("<![CDATA["), s.rfind("]]>")) {
        (Some(a), Some(b)) if a < b => return s[a + 9..b].to_string(),
        _ => s,
    };
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// `NAME(arg TYPE, ...) -> TYPE` as a signature.
fn signature(form: &str) -> Option<UdfSignature> {
    let form = unescape(form);
    let open = form.find('(')?;
    let close = form.rfind(')')?;
    let args = form[open + 1..close].trim();
    let n = if args.is_empty() {
        0
    } else {
        args.split(',').count()
    };
    Some(UdfSignature {
        name: form[..open].trim().to_string(),
        min_args: n,
        max_args: n,
    })
}

/// The `<query>` entries of one corpus file (a small reader for the corpus's own schema,
/// queries.xsd: uuid, optional functions, adql with `valid`).
fn entries(path: &Path) -> Vec<Entry> {
    let text = std::fs::read_to_string(path).expect("read corpus file");
    let file = path
        .file_stem()
        .expect("corpus entry")
        .to_string_lossy()
        .into_owned();
    let mut out = Vec::new();
    for chunk in text.split("<query ").skip(1) {
        let uuid = chunk
            .split("uuid=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("?")
            .to_string();
        let udfs = chunk
            .split("<form>")
            .skip(1)
            .filter_map(|f| f.split("</form>").next().and_then(signature))
            .collect();
        let Some(a) = chunk.find("<adql") else {
            continue;
        };
        let rest = &chunk[a..];
        let head_end = rest.find('>').expect("corpus entry");
        let head = &rest[..head_end];
        let body_end = rest.find("</adql>").expect("corpus entry");
        out.push(Entry {
            file: file.clone(),
            uuid,
            valid: !head.contains("valid=\"false\""),
            adql: unescape(&rest[head_end + 1..body_end]),
            udfs,
        });
    }
    out
}

fn corpus(sub: &str) -> Vec<Entry> {
    let dir: PathBuf = vo_testkit::shared_dir("corpus/adql/lyonetia/adql").join(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus folder")
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    files.iter().flat_map(|f| entries(f)).collect()
}

/// Whether the parser's verdict agrees with the entry's mark; the error text when not.
fn agrees(e: &Entry) -> Result<(), String> {
    match (parse(&e.adql, &e.udfs), e.valid) {
        (Ok(_), true) => Ok(()),
        (Err(d), false) if d.span.is_some() => Ok(()),
        (Err(d), false) => Err(format!("refused without a position: {d}")),
        (Ok(_), false) => Err("accepted, but the corpus marks it invalid".into()),
        (Err(d), true) => Err(format!("refused: {d}")),
    }
}

fn main() -> std::process::ExitCode {
    let need = vo_testkit::shared("corpus/adql/lyonetia/adql");
    let mut tests = Vec::new();
    if need.missing.is_none() {
        let ivoa = corpus("ivoa");
        let gavo = corpus("gavo");
        let count = |v: &[Entry]| {
            let valid = v.iter().filter(|e| e.valid).count();
            (valid, v.len() - valid)
        };
        let (iv, ii) = count(&ivoa);
        let (gv, gi) = count(&gavo);
        println!("lyonetia: ivoa {iv} valid + {ii} invalid entries; gavo {gv} valid + {gi} invalid entries, {} listed exceptions", GAVO_EXCEPTIONS.len());
        for e in ivoa {
            tests.push(Test::sync(
                format!("ivoa/{}/{}", e.file, e.uuid),
                move || {
                    if let Err(why) = agrees(&e) {
                        panic!("{why}\n{}", e.adql.trim());
                    }
                },
            ));
        }
        let total = gavo.len();
        let mut agreeing = 0;
        for e in gavo {
            let exception = GAVO_EXCEPTIONS.iter().find(|(u, _)| *u == e.uuid);
            if exception.is_none() && agrees(&e).is_ok() {
                agreeing += 1;
            }
            tests.push(Test::sync(format!("gavo/{}/{}", e.file, e.uuid), move || {
                match (agrees(&e), exception) {
                    (Err(why), None) => panic!("{why}\n{}", e.adql.trim()),
                    (Ok(()), Some((_, reason))) => panic!(
                        "listed as an exception ({reason}), but vogate now agrees with the corpus: remove it from GAVO_EXCEPTIONS"
                    ),
                    _ => {}
                }
            }));
        }
        println!(
            "lyonetia: gavo {agreeing} of {total} entries parsed as marked ({:.1}%)",
            100.0 * agreeing as f64 / total as f64
        );
        tests.push(Test::sync("gavo/at_least_99_percent", move || {
            assert!(
                agreeing * 100 >= total * 99,
                "only {agreeing} of {total} gavo entries parsed as marked"
            );
        }));
    } else {
        let why = need.missing.clone().unwrap_or_default();
        tests.push(Test::sync("lyonetia_corpus", move || panic!("{why}")).needs(&need));
    }
    vo_testkit::run(tests)
}
