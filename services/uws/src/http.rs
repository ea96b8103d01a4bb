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
use vo_common::VoError;
use vo_dali::{error_response, Params};

/// Mount the UWS binding of `uws` at `path` (e.g. `/tap/async`).
pub fn configure(cfg: &mut web::ServiceConfig, path: &str, uws: Arc<Uws>) {
    cfg.service(
        web::scope(path)
            .app_data(web::Data::new(uws))
            .route("", web::get().to(list))
            .route("", web::post().to(create))
            .route("/{job}", web::get().to(job))
            .route("/{job}", web::post().to(job_post))
            .route("/{job}", web::delete().to(delete))
            .route("/{job}/phase", web::get().to(phase))
            .route("/{job}/phase", web::post().to(phase_post))
            .route(
                "/{job}/executionduration",
                web::get().to(execution_duration),
            )
            .route(
                "/{job}/executionduration",
                web::post().to(execution_duration_post),
            )
            .route("/{job}/destruction", web::get().to(destruction))
            .route("/{job}/destruction", web::post().to(destruction_post))
            .route("/{job}/error", web::get().to(error))
            .route("/{job}/quote", web::get().to(quote))
            .route("/{job}/owner", web::get().to(owner))
            .route("/{job}/parameters", web::get().to(parameters))
            .route("/{job}/parameters", web::post().to(parameters_post))
            .route("/{job}/results", web::get().to(results))
            .route("/{job}/results/{result}", web::get().to(result)),
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

async fn read(req: &HttpRequest, payload: Option<web::Payload>) -> Result<Params, VoError> {
    Params::from_request(req, payload, "uploads").await
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
            Ok(xml(doc::job_list(&jobs, &uws.config.base_url)))
        }
        .await,
    )
}

async fn create(uws: State, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    respond(
        async {
            let params = read(&req, Some(payload)).await?;
            let job = uws
                .create(params.pairs().to_vec(), caller(&uws, &req))
                .await?;
            Ok(see_other(&uws.job_url(&job.id)))
        }
        .await,
    )
}

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
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
            Ok(if wants_json(&req) {
                HttpResponse::Ok().json(doc::job_json(&job, &url))
            } else {
                xml(doc::job(&job, &url))
            })
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
    respond(
        async {
            let job = uws.get(&id, caller(&uws, &req).as_deref()).await?;
            Ok(text(job.phase.to_string()))
        }
        .await,
    )
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
            match params.single("PHASE")? {
                Some("RUN") => uws.run(&id, who.as_deref()).await?,
                Some("ABORT") => uws.abort(&id, who.as_deref()).await?,
                Some(other) => {
                    return Err(VoError::usage(format!(
                        "PHASE={other} is not a phase change: use PHASE=RUN or PHASE=ABORT"
                    )))
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
    respond(
        async {
            let job = uws.get(&id, caller(&uws, &req).as_deref()).await?;
            Ok(text(job.execution_duration.to_string()))
        }
        .await,
    )
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
            let value = params
                .single("EXECUTIONDURATION")?
                .ok_or_else(|| VoError::usage("EXECUTIONDURATION is missing"))?;
            uws.set_execution_duration(&id, caller(&uws, &req).as_deref(), value)
                .await?;
            Ok(see_other(&uws.job_url(&id)))
        }
        .await,
    )
}

async fn destruction(uws: State, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let job = uws.get(&id, caller(&uws, &req).as_deref()).await?;
            Ok(text(crate::job::iso(job.destruction)))
        }
        .await,
    )
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
            let value = params
                .single("DESTRUCTION")?
                .ok_or_else(|| VoError::usage("DESTRUCTION is missing"))?;
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
    respond(
        async {
            uws.get(&id, caller(&uws, &req).as_deref()).await?;
            Ok(text(String::new()))
        }
        .await,
    )
}

async fn owner(uws: State, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let job = uws.get(&id, caller(&uws, &req).as_deref()).await?;
            Ok(text(job.owner.unwrap_or_default()))
        }
        .await,
    )
}

async fn parameters(uws: State, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let job = uws.get(&id, caller(&uws, &req).as_deref()).await?;
            Ok(xml(doc::standalone(&doc::parameters(&job))))
        }
        .await,
    )
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
    respond(
        async {
            let job = uws.get(&id, caller(&uws, &req).as_deref()).await?;
            Ok(xml(doc::standalone(&doc::results(
                &job,
                &uws.job_url(&job.id),
            ))))
        }
        .await,
    )
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
