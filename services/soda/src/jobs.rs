//! SODA async (SODA 1.0 §3.2): jobs on vogate's UWS engine (the one TAP async uses). A job
//! takes every SODA parameter as often as the client gives it and makes one result per
//! combination of ID, shape, BAND and TIME (SODA 1.0 §3.3: "multiple values ... produce
//! multiple cutouts"), in that order: `cutout-1.fits`, `cutout-2.fits`, ... as
//! `application/fits`, or, for a combination that cannot be cut (no overlap, an unknown ID),
//! a `text/plain` result `cutout-N.txt` holding the SODA error document (`UsageError: ...`).
//! POL values are one set of polarization states applied to every combination. Parameters
//! that are wrong for every combination (a malformed CIRCLE, an unknown POL state) end the
//! job in ERROR with that message.

use vo_common::VoError;
use vo_dali::Params;
use vo_uws::{Job, JobRunner, ResultDir, ResultRef};

use crate::cutout::plan;
use crate::params::{Interval, Shape, SodaRequest};
use crate::service::{product, spawn_cut, SodaState};

/// The job kind of SODA jobs in the job store.
pub const KIND: &str = "soda";

/// The most cutouts (combinations of ID, shape, BAND and TIME) one job may ask for.
pub const MAX_CUTOUTS: usize = 1000;

/// How many cutouts `request` asks for; an error when more than [`MAX_CUTOUTS`].
pub fn cutouts(request: &SodaRequest) -> Result<usize, VoError> {
    let n = [
        request.ids.len(),
        request.shapes.len(),
        request.bands.len(),
        request.times.len(),
    ]
    .iter()
    .try_fold(1usize, |acc, &k| acc.checked_mul(k.max(1)))
    .unwrap_or(usize::MAX);
    if n > MAX_CUTOUTS {
        return Err(VoError::usage(format!(
            "the job asks for {n} cutouts (IDs x shapes x BANDs x TIMEs); one job makes at most {MAX_CUTOUTS}"
        )));
    }
    Ok(n)
}

/// Runs SODA jobs.
#[derive(Debug, Clone)]
pub struct SodaRunner {
    /// Where the products are, and the database that finds them.
    pub state: SodaState,
}

#[async_trait::async_trait]
impl JobRunner for SodaRunner {
    async fn run(&self, job: &Job, results: &ResultDir) -> Result<Vec<ResultRef>, VoError> {
        let request = SodaRequest::parse(&Params::new(job.parameters.clone()))?;
        if request.ids.is_empty() {
            return Err(VoError::usage(
                "ID is missing: give the obs_publisher_did of each dataset to cut",
            ));
        }
        cutouts(&request)?;
        let all = |v: &[Interval]| -> Vec<Option<Interval>> {
            if v.is_empty() {
                vec![None]
            } else {
                v.iter().copied().map(Some).collect()
            }
        };
        let shapes: Vec<Option<Shape>> = if request.shapes.is_empty() {
            vec![None]
        } else {
            request.shapes.iter().cloned().map(Some).collect()
        };
        let mut refs = Vec::new();
        let mut k = 0;
        for id in &request.ids {
            for shape in &shapes {
                for band in all(&request.bands) {
                    for time in all(&request.times) {
                        k += 1;
                        let filters = Filters {
                            band,
                            time,
                            pols: request.pols.clone(),
                        };
                        refs.push(self.one(results, k, id, shape.clone(), filters).await?);
                    }
                }
            }
        }
        Ok(refs)
    }
}

/// What one cutout of a job keeps beyond its shape: BAND, TIME and the POL states.
struct Filters {
    band: Option<Interval>,
    time: Option<Interval>,
    pols: Vec<String>,
}

impl SodaRunner {
    /// The result of combination `k`: the cut, or the error document saying why there is
    /// none. Errors: the result cannot be written (disk, size limit).
    async fn one(
        &self,
        results: &ResultDir,
        k: usize,
        id: &str,
        shape: Option<Shape>,
        filters: Filters,
    ) -> Result<ResultRef, VoError> {
        let error_doc = |msg: String| async move {
            let mut f = results
                .create(&format!("cutout-{k}.txt"), "text/plain")
                .await?;
            f.write(format!("UsageError: {msg}\n").as_bytes()).await;
            f.commit().await
        };
        let path = match product(&self.state, id).await {
            Ok(p) => p,
            Err(e) => return error_doc(e.message).await,
        };
        let permit = self
            .state
            .cutouts
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| VoError::internal("the cutout service is closing"))?;
        let planned = {
            let (path, products) = (path.clone(), self.state.products.clone());
            tokio::task::spawn_blocking(move || {
                let product = products.get(&path)?;
                let plan = plan(
                    &product,
                    shape.as_ref(),
                    filters.band.as_ref(),
                    filters.time.as_ref(),
                    &filters.pols,
                )?;
                Ok::<_, String>(plan.map(|p| (p, product)))
            })
            .await
            .map_err(|e| VoError::internal(format!("cutout: {e}")))?
        };
        let (cut, product) = match planned {
            Ok(Some(p)) => p,
            Ok(None) => {
                return error_doc(format!(
                    "the requested region does not overlap the dataset {id} (combination {k})"
                ))
                .await
            }
            Err(e) => return error_doc(format!("the dataset {id} cannot be cut: {e}")).await,
        };
        let mut file = results
            .create(&format!("cutout-{k}.fits"), "application/fits")
            .await?;
        let (mut rx, writer) = spawn_cut(cut, product, path, id.to_string(), permit);
        let mut accepted = true;
        while let Some(chunk) = rx.recv().await {
            if accepted && !file.write(&chunk).await {
                accepted = false;
            }
        }
        let written = writer
            .await
            .map_err(|e| VoError::internal(format!("cutout: {e}")))?;
        if let Err(e) = written {
            return Err(VoError::internal(format!("the cutout of {id}: {e}")));
        }
        file.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_may_ask_for_at_most_a_thousand_cutouts() {
        let parse =
            |q: &str| SodaRequest::parse(&Params::from_query(q).expect("query")).expect("valid");
        assert_eq!(
            cutouts(&parse("ID=a&ID=b&CIRCLE=1+1+1&CIRCLE=2+2+1&BAND=1+2")).expect("ok"),
            4
        );
        assert_eq!(cutouts(&parse("ID=a")).expect("ok"), 1);
        let many: Vec<String> = (0..1001)
            .map(|i| format!("CIRCLE={}+1+1", i % 360))
            .collect();
        let e = cutouts(&parse(&format!("ID=a&{}", many.join("&")))).expect_err("1001");
        assert!(e.message.contains("1001 cutouts"), "{}", e.message);
    }
}
