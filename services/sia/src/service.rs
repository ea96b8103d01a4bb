//! The SIA 2.0 service's HTTP side: `/sia/query` (GET and POST; SIA 2.0 §2), answered as
//! an ObsCore VOTable by TAP's sync machinery (so MAXREC, RESPONSEFORMAT, overflow and the
//! DataLink service descriptor behave as in TAP), and its VOSI endpoints. Errors are DALI
//! error documents with 400.

use actix_web::{web, HttpRequest, HttpResponse};
use vo_dali::{error_response, Params};
use vo_tap::TapState;

/// The standardID of SIA 2.0 queries (SIA 2.0 §2).
pub const STANDARD_ID: &str = "ivo://ivoa.net/std/SIA#query-2.0";

/// Mount `/sia/query` (GET, POST), `/sia/capabilities` and `/sia/availability`. Needs
/// `web::Data<TapState>` in the app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sia/query", web::get().to(query_get))
        .route("/sia/query", web::post().to(query_post))
        .route("/sia/capabilities", web::get().to(capabilities))
        .route("/sia/availability", web::get().to(availability));
}

async fn query_get(state: web::Data<TapState>, req: HttpRequest) -> HttpResponse {
    match Params::from_query(req.query_string()) {
        Ok(p) => query(&state, p).await,
        Err(e) => error_response(&e),
    }
}

async fn query_post(
    state: web::Data<TapState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    match Params::from_request(&req, Some(payload), None).await {
        Ok(p) => query(&state, p).await,
        Err(e) => error_response(&e),
    }
}

/// Translate the SIA parameters and run the query as TAP sync would, with MAXREC and
/// RESPONSEFORMAT passed on.
async fn query(state: &TapState, params: Params) -> HttpResponse {
    let adql = match crate::query::adql(&params) {
        Ok(q) => q,
        Err(e) => return error_response(&e),
    };
    let mut tap = vec![
        ("LANG".to_string(), "ADQL".to_string()),
        ("QUERY".to_string(), adql),
    ];
    for name in ["MAXREC", "RESPONSEFORMAT"] {
        for v in params.all(name) {
            tap.push((name.to_string(), v.to_string()));
        }
    }
    vo_tap::sync::run_sync(state.clone(), Params::new(tap), false).await
}

/// `/sia/capabilities` (VOSI 1.1 §3.3): SIA 2.0 query and the VOSI endpoints.
async fn capabilities(state: web::Data<TapState>) -> HttpResponse {
    let b = state.vosi.base_url();
    vo_dali::vosi::capabilities(&[
        vo_dali::vosi::capability(STANDARD_ID, &format!("{b}/sia/query"), "2.0"),
        vo_dali::vosi::capability(
            "ivo://ivoa.net/std/VOSI#capabilities",
            &format!("{b}/sia/capabilities"),
            "1.1",
        ),
        vo_dali::vosi::capability(
            "ivo://ivoa.net/std/VOSI#availability",
            &format!("{b}/sia/availability"),
            "1.1",
        ),
    ])
}

/// `/sia/availability` (VOSI 1.1 §3.5).
async fn availability() -> HttpResponse {
    vo_dali::vosi::availability("vogate finds images in ivoa.ObsCore")
}
