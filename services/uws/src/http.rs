//! The UWS 1.1 REST binding (UWS 1.1 §2.2) of one engine, mounted at the job list's path:
//!
//! | path | GET | POST / DELETE |
//! |---|---|---|
//! | `` | job list (PHASE repeatable, AFTER, LAST) | new job, 303 to it |
//! | `/{job}` | job document (WAIT, PHASE; JSON with `Accept: application/json`) | ACTION=DELETE or DELETE: 303 to the list |
//! | `/{job}/phase` | the phase, as text | PHASE=RUN or PHASE=ABORT: 303 to the job |
//! | `/{job}/executionduration` | seconds, as text | EXECUTIONDURATION (while PENDING): 303 |
//! | `/{job}/destruction` | ISO 8601, as text | DESTRUCTION (in the future): 303 |
//! | `/{job}/error` | the DALI error document of an ERROR job | |
//! | `/{job}/quote`, `/{job}/owner` | text (empty when unknown) | |
//! | `/{job}/parameters` | `uws:parameters` | parameters (while PENDING): 303 |
//! | `/{job}/results` | `uws:results` | |
//! | `/{job}/results/{id}` | the result file | |
//!
//! Every error is a DALI error document with the status of its kind (vo-dali): an unknown
//! job 404, another owner's job 403, a bad value or a change the phase forbids 400.

use crate::doc;
use crate::engine::Uws;
use crate::job::{parse_iso, parse_wait, JobFilter, Phase};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;
use vo_common::{ErrorKind, VoError};
use vo_dali::{error_response, Params};

/// Mount the UWS binding of `uws` at `path` (e.g. `/tap/async`). A known resource asked with
/// another method answers 405 with `Allow`; an unknown path under `path`, 404; both with a
/// DALI error document.
pub fn configure(cfg: &mut web::ServiceConfig, path: &str, uws: Arc<Uws>) {
    fn only(
        methods: &'static str,
    ) -> impl Fn(HttpRequest) -> std::future::Ready<HttpResponse> + Clone {
        move |req: HttpRequest| {
            let mut r = error_response(&VoError::new(
                ErrorKind::MethodNotAllowed,
                format!(
                    "{} is not allowed on {}: use {methods}",
                    req.method(),
                    req.path()
                ),
            ));
            if let Ok(v) = header::HeaderValue::from_str(methods) {
                r.headers_mut().insert(header::ALLOW, v);
            }
            std::future::ready(r)
        }
    }
    cfg.service(
        web::scope(path)
            .app_data(web::Data::new(uws))
            .service(
                web::resource(["", "/"])
                    .route(web::get().to(list))
                    .route(web::post().to(create))
                    .default_service(web::to(only("GET, POST"))),
            )
            .service(
                web::resource("/{job}")
                    .route(web::get().to(job))
                    .route(web::post().to(job_post))
                    .route(web::delete().to(delete))
                    .default_service(web::to(only("GET, POST, DELETE"))),
            )
            .service(
                web::resource("/{job}/phase")
                    .route(web::get().to(phase))
                    .route(web::post().to(phase_post))
                    .default_service(web::to(only("GET, POST"))),
            )
            .service(
                web::resource("/{job}/executionduration")
                    .route(web::get().to(execution_duration))
                    .route(web::post().to(execution_duration_post))
                    .default_service(web::to(only("GET, POST"))),
            )
            .service(
                web::resource("/{job}/destruction")
                    .route(web::get().to(destruction))
                    .route(web::post().to(destruction_post))
                    .default_service(web::to(only("GET, POST"))),
            )
            .service(
                web::resource("/{job}/parameters")
                    .route(web::get().to(parameters))
                    .route(web::post().to(parameters_post))
                    .default_service(web::to(only("GET, POST"))),
            )
            .service(
                web::resource("/{job}/error")
                    .route(web::get().to(error))
                    .default_service(web::to(only("GET"))),
            )
            .service(
                web::resource("/{job}/quote")
                    .route(web::get().to(quote))
                    .default_service(web::to(only("GET"))),
            )
            .service(
                web::resource("/{job}/owner")
                    .route(web::get().to(owner))
                    .default_service(web::to(only("GET"))),
            )
            .service(
                web::resource("/{job}/results")
                    .route(web::get().to(results))
                    .default_service(web::to(only("GET"))),
            )
            .service(
                web::resource("/{job}/results/{result}")
                    .route(web::get().to(result))
                    .default_service(web::to(only("GET"))),
            )
            .default_service(web::to(|req: HttpRequest| async move {
                error_response(&VoError::not_found(format!(
                    "there is no UWS resource {}: a job has /phase, /executionduration, \
                     /destruction, /error, /quote, /owner, /parameters and /results",
                    req.path()
                )))
            })),
    );
}

type State = web::Data<Arc<Uws>>;

/// The caller named by the configured trusted header, if any.
fn caller(uws: &Uws, req: &HttpRequest) -> Option<String> {
    let name = uws.config.owner_header.as_deref()?;
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

fn xml(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/xml; charset=utf-8")
        .body(body)
}

fn text(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(body)
}

fn respond(r: Result<HttpResponse, VoError>) -> HttpResponse {
    r.unwrap_or_else(|e| error_response(&e))
}

/// Answer with `render` of job `id` as the caller may see it (or the error why not).
async fn view(
    uws: &State,
    req: &HttpRequest,
    id: &str,
    render: impl FnOnce(&Uws, crate::job::Job) -> HttpResponse,
) -> HttpResponse {
    match uws.get(id, caller(uws, req).as_deref()).await {
        Ok(job) => render(uws, job),
        Err(e) => error_response(&e),
    }
}

/// The value of the single-valued parameter `name`. Errors: missing, or given twice.
fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, VoError> {
    params
        .single(name)?
        .ok_or_else(|| VoError::usage(format!("{name} is missing")))
}

/// The parameters of a request that takes no files.
async fn read(req: &HttpRequest, payload: Option<web::Payload>) -> Result<Params, VoError> {
    Params::from_request(req, payload, None).await
}

async fn list(uws: State, req: HttpRequest) -> HttpResponse {
    respond(
        async {
            let params = read(&req, None).await?;
            let mut filter = JobFilter::default();
            for p in params.all("PHASE") {
                filter.phases.push(Phase::parse(p).ok_or_else(|| {
                    VoError::usage(format!(
                        "PHASE={p} is not a UWS phase: use one of {}",
                        Phase::ALL.map(|p| p.as_str()).join(", ")
                    ))
                })?);
            }
            if let Some(a) = params.single("AFTER")? {
                filter.after = Some(parse_iso("AFTER", a)?);
            }
            if let Some(l) = params.single("LAST")? {
                filter.last = Some(
                    l.trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| {
                            VoError::usage(format!("LAST={l} is not a positive whole number"))
                        })?,
                );
            }
            let jobs = uws.list(filter, caller(&uws, &req).as_deref()).await?;
            let base = &uws.config.base_url;
            Ok(negotiated(
                &req,
                || doc::job_list(&jobs, base),
                || doc::job_list_json(&jobs, base),
            ))
        }
        .await,
    )
}

async fn create(uws: State, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    respond(
        async {
            // A new job may come with files (a TAP upload), kept with it.
            let mut params =
                Params::from_request(&req, Some(payload), uws.config.parts.as_ref()).await?;
            let parts = params.take_parts();
            let job = uws
                .create(params.pairs().to_vec(), parts, caller(&uws, &req))
                .await?;
            Ok(see_other(&uws.job_url(&job.id)))
        }
        .await,
    )
}

/// Whether the client prefers JSON to XML (RFC 9110 §12.5.1: media types compared without
/// case, the highest q-value wins, XML on a tie or without an Accept header).
pub fn wants_json(req: &HttpRequest) -> bool {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let (mut json, mut xml) = (0.0f32, 0.0f32);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "application/json" => json = json.max(q),
            "text/xml" | "application/xml" | "*/*" | "text/*" | "application/*" => xml = xml.max(q),
            _ => {}
        }
    }
    json > xml
}

/// A job or job-list document in the form the client prefers, with `Vary: Accept`.
fn negotiated(
    req: &HttpRequest,
    xml_body: impl FnOnce() -> String,
    json_body: impl FnOnce() -> serde_json::Value,
) -> HttpResponse {
    let mut r = if wants_json(req) {
        HttpResponse::Ok().json(json_body())
    } else {
        xml(xml_body())
    };
    r.headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("Accept"));
    r
}

async fn job(uws: State, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let params = read(&req, None).await?;
            let who = caller(&uws, &req);
            let job = match params.single("WAIT")? {
                Some(w) => {
                    let seconds = parse_wait(w, uws.config.max_wait)?;
                    let phase = match params.single("PHASE")? {
                        Some(p) => Some(Phase::parse(p).ok_or_else(|| {
                            VoError::usage(format!("PHASE={p} is not a UWS phase"))
                        })?),
                        None => None,
                    };
                    uws.wait(&id, who.as_deref(), phase, seconds).await?
                }
                None => uws.get(&id, who.as_deref()).await?,
            };
            let url = uws.job_url(&job.id);
            Ok(negotiated(
                &req,
                || doc::job(&job, &url),
                || doc::job_json(&job, &url),
            ))
        }
        .await,
    )
}

async fn job_post(
    uws: State,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    respond(
        async {
            let params = read(&req, Some(payload)).await?;
            let who = caller(&uws, &req);
            match params.single("ACTION")? {
                Some(a) if a.eq_ignore_ascii_case("DELETE") => {
                    uws.delete(&id, who.as_deref()).await?;
                    Ok(see_other(&uws.config.base_url))
                }
                Some(a) => Err(VoError::usage(format!(
                    "ACTION={a} is not supported: the only action is ACTION=DELETE"
                ))),
                None => {
                    uws.set_parameters(&id, who.as_deref(), params.pairs().to_vec())
                        .await?;
                    Ok(see_other(&uws.job_url(&id)))
                }
            }
        }
        .await,
    )
}

async fn delete(uws: State, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            uws.delete(&id, caller(&uws, &req).as_deref()).await?;
            Ok(see_other(&uws.config.base_url))
        }
        .await,
    )
}

async fn phase(uws: State, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    view(&uws, &req, &id, |_, j| text(j.phase.to_string())).await
}

async fn phase_post(
    uws: State,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    respond(
        async {
            let params = read(&req, Some(payload)).await?;
            let who = caller(&uws, &req);
            match params
                .single("PHASE")?
                .map(str::to_ascii_uppercase)
                .as_deref()
            {
                Some("RUN") => uws.run(&id, who.as_deref()).await?,
                Some("ABORT") => uws.abort(&id, who.as_deref()).await?,
                Some(_) => {
                    let other = params.single("PHASE")?.unwrap_or_default();
                    return Err(VoError::usage(format!(
                        "PHASE={other} is not a phase change: use PHASE=RUN or PHASE=ABORT"
                    )));
                }
                None => {
                    return Err(VoError::usage(
                        "PHASE is missing: use PHASE=RUN or PHASE=ABORT",
                    ))
                }
            };
            Ok(see_other(&uws.job_url(&id)))
        }
        .await,
    )
}

async fn execution_duration(uws: State, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    view(&uws, &req, &id, |_, j| {
        text(j.execution_duration.to_string())
    })
    .await
}

async fn execution_duration_post(
    uws: State,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    respond(
        async {
            let params = read(&req, Some(payload)).await?;
            let value = required(&params, "EXECUTIONDURATION")?;
            uws.set_execution_duration(&id, caller(&uws, &req).as_deref(), value)
                .await?;
            Ok(see_other(&uws.job_url(&id)))
        }
        .await,
    )
}

async fn destruction(uws: State, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    view(&uws, &req, &id, |_, j| text(crate::job::iso(j.destruction))).await
}

async fn destruction_post(
    uws: State,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    respond(
        async {
            let params = read(&req, Some(payload)).await?;
            let value = required(&params, "DESTRUCTION")?;
            uws.set_destruction(&id, caller(&uws, &req).as_deref(), value)
                .await?;
            Ok(see_other(&uws.job_url(&id)))
        }
        .await,
    )
}

async fn error(uws: State, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let job = uws.get(&id, caller(&uws, &req).as_deref()).await?;
            match job.error {
                Some(m) => Ok(HttpResponse::Ok()
                    .content_type("application/x-votable+xml")
                    .body(vo_dali::error::error_votable(&VoError::query(m)))),
                None => Err(VoError::not_found(format!(
                    "job '{}' is {} and has no error",
                    job.id, job.phase
                ))),
            }
        }
        .await,
    )
}

async fn quote(uws: State, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    view(&uws, &req, &id, |_, _| text(String::new())).await
}

async fn owner(uws: State, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    view(&uws, &req, &id, |_, j| text(j.owner.unwrap_or_default())).await
}

async fn parameters(uws: State, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    view(&uws, &req, &id, |_, j| {
        xml(doc::standalone(&doc::parameters(&j)))
    })
    .await
}

async fn parameters_post(
    uws: State,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    respond(
        async {
            let params = read(&req, Some(payload)).await?;
            uws.set_parameters(&id, caller(&uws, &req).as_deref(), params.pairs().to_vec())
                .await?;
            Ok(see_other(&uws.job_url(&id)))
        }
        .await,
    )
}

async fn results(uws: State, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    view(&uws, &req, &id, |uws, j| {
        xml(doc::standalone(&doc::results(&j, &uws.job_url(&j.id))))
    })
    .await
}

async fn result(uws: State, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let (id, rid) = path.into_inner();
    let found = async {
        let job = uws.get(&id, caller(&uws, &req).as_deref()).await?;
        let r = job
            .results
            .iter()
            .find(|r| r.id == rid)
            .cloned()
            .ok_or_else(|| {
                VoError::not_found(format!(
                    "job '{id}' has no result '{rid}' (it is {})",
                    job.phase
                ))
            })?;
        Ok::<_, VoError>(r)
    }
    .await;
    let r = match found {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    match tokio::fs::File::open(uws.result_path(&id, &r.id)).await {
        Ok(f) => {
            let stream = futures_util::stream::unfold(f, |mut f| async move {
                use tokio::io::AsyncReadExt;
                let mut buf = vec![0u8; 64 * 1024];
                match f.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok::<_, std::io::Error>(web::Bytes::from(buf)), f))
                    }
                    Err(e) => Some((Err(e), f)),
                }
            });
            HttpResponse::Ok()
                .content_type(r.mime.as_str())
                .no_chunking(r.size)
                .streaming(stream)
        }
        Err(e) => error_response(&VoError::not_found(format!(
            "the result '{rid}' of job '{id}' is gone: {e}"
        ))),
    }
}
