//! Helpers shared by the test binaries that query a gateway in process.

use actix_web::{test, App};

/// `GET /tap/sync` with `params` on `gw`: the response.
pub async fn tap_sync(
    gw: &vogate::Gateway,
    params: &[(&str, &str)],
) -> actix_web::dev::ServiceResponse {
    let app = test::init_service(App::new().configure(vogate::routes(gw))).await;
    let qs = serde_urlencoded::to_string(params).expect("encode");
    test::call_service(
        &app,
        test::TestRequest::get()
            .uri(&format!("/tap/sync?{qs}"))
            .to_request(),
    )
    .await
}

/// Run `adql` on `gw` through `/tap/sync` (JSON, MAXREC 100000): the HTTP status, the JSON
/// document (Null when the answer is not JSON, e.g. an error VOTable) and the body.
pub async fn tap_json(gw: &vogate::Gateway, adql: &str) -> (u16, serde_json::Value, String) {
    let resp = tap_sync(
        gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", adql),
            ("RESPONSEFORMAT", "json"),
            ("MAXREC", "100000"),
        ],
    )
    .await;
    let status = resp.status().as_u16();
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    let json = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
    (status, json, body)
}

/// Equal as values, floats to 1e-9 relative (and 1e-12 absolute, for values near 0).
#[allow(dead_code)] // not every test binary compares rows
pub fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::{Array, Number};
    match (a, b) {
        (Number(x), Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => {
                let (x, y) = (
                    x.as_f64().unwrap_or(f64::NAN),
                    y.as_f64().unwrap_or(f64::NAN),
                );
                x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()) + 1e-12
            }
        },
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        // DALI geometry values ("ra dec ..."): number by number, as above.
        (serde_json::Value::String(x), serde_json::Value::String(y)) if x != y => {
            let nums = |s: &str| -> Option<Vec<serde_json::Value>> {
                s.split_ascii_whitespace()
                    .map(|w| {
                        w.parse::<f64>()
                            .ok()
                            .and_then(|v| serde_json::Number::from_f64(v).map(Number))
                    })
                    .collect()
            };
            match (nums(x), nums(y)) {
                (Some(p), Some(q)) if !p.is_empty() => same(&Array(p), &Array(q)),
                _ => false,
            }
        }
        _ => a == b,
    }
}

/// A small deterministic generator (a 64-bit LCG, Knuth's MMIX constants), so that both
/// backends get the same generated rows.
#[allow(dead_code)] // not every test binary generates rows
pub struct Lcg(pub u64);

#[allow(dead_code)]
impl Lcg {
    /// The next number, uniform in [0, 1).
    pub fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Settings for a gateway in `work` publishing the Felis schema `schema` with the indexed
/// position (`ra`, `dec`) of `table`, ObsCore from `data` if given, on SQLite or the
/// PostgreSQL database `db`.
#[allow(dead_code)]
pub fn catalog_settings(
    schema: &std::path::Path,
    work: &std::path::Path,
    data: Option<&std::path::Path>,
    db: Option<String>,
    (table, ra, dec): (&str, &str, &str),
) -> vogate::settings::Settings {
    let flags = vogate::settings::Flags {
        workdir: Some(work.to_path_buf()),
        data: data.map(std::path::Path::to_path_buf),
        db,
        ..Default::default()
    };
    let file = vo_common::config::FileConfig {
        schemas: vec![schema.to_path_buf()],
        positions: vec![vo_common::config::PositionConfig {
            table: table.into(),
            ra: ra.into(),
            dec: dec.into(),
        }],
        ..Default::default()
    };
    vogate::settings::resolve(flags, file, None).expect("settings")
}
