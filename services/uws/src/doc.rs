//! UWS 1.1 documents (the UWS schema, namespace `http://www.ivoa.net/xml/UWS/v1.0`,
//! `version="1.1"`): the job list (`uws:jobs`), a job (`uws:job`), its parameters and
//! results; and the same job as JSON for the portal (`Accept: application/json`).
//! Element order and nillable elements follow the schema; URLs are absolute.

use crate::job::{iso, Job};
use vo_common::votable::xml_escape;

const NS: &str = "xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\" \
                  xmlns:xlink=\"http://www.w3.org/1999/xlink\" \
                  xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";
const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

fn nillable(out: &mut String, name: &str, value: Option<String>) {
    match value {
        Some(v) => out.push_str(&format!("<uws:{name}>{}</uws:{name}>", xml_escape(&v))),
        None => out.push_str(&format!("<uws:{name} xsi:nil=\"true\"/>")),
    }
}

/// The job list: one `uws:jobref` per job, with phase, runId, ownerId and creationTime.
/// `base` is the job list's absolute URL.
pub fn job_list(jobs: &[Job], base: &str) -> String {
    let mut out = format!("{DECL}<uws:jobs {NS} version=\"1.1\">\n");
    for j in jobs {
        out.push_str(&format!(
            "<uws:jobref id=\"{id}\" xlink:type=\"simple\" xlink:href=\"{href}\"><uws:phase>{phase}</uws:phase>",
            id = xml_escape(&j.id),
            href = xml_escape(&format!("{base}/{}", j.id)),
            phase = j.phase
        ));
        if let Some(r) = &j.run_id {
            out.push_str(&format!("<uws:runId>{}</uws:runId>", xml_escape(r)));
        }
        nillable(&mut out, "ownerId", j.owner.clone());
        out.push_str(&format!(
            "<uws:creationTime>{}</uws:creationTime></uws:jobref>\n",
            iso(j.creation_time)
        ));
    }
    out.push_str("</uws:jobs>\n");
    out
}

/// The `uws:parameters` element of `job`.
pub fn parameters(job: &Job) -> String {
    let mut out = String::from("<uws:parameters>");
    for (k, v) in &job.parameters {
        out.push_str(&format!(
            "<uws:parameter id=\"{}\">{}</uws:parameter>",
            xml_escape(k),
            xml_escape(v)
        ));
    }
    out.push_str("</uws:parameters>");
    out
}

/// The `uws:results` element of `job`; `job_url` is the job's absolute URL.
pub fn results(job: &Job, job_url: &str) -> String {
    let mut out = String::from("<uws:results>");
    for r in &job.results {
        out.push_str(&format!(
            "<uws:result id=\"{id}\" xlink:type=\"simple\" xlink:href=\"{href}\" size=\"{size}\" mime-type=\"{mime}\"/>",
            id = xml_escape(&r.id),
            href = xml_escape(&format!("{job_url}/results/{}", r.id)),
            size = r.size,
            mime = xml_escape(&r.mime)
        ));
    }
    out.push_str("</uws:results>");
    out
}

/// The standalone `{job}/parameters` and `{job}/results` documents.
pub fn standalone(element: &str) -> String {
    // The root element needs the namespace declarations.
    let (open, rest) = element.split_at(element.find('>').unwrap_or(0));
    format!("{DECL}{open} {NS}{rest}\n")
}

/// The job document; `job_url` is the job's absolute URL.
pub fn job(job: &Job, job_url: &str) -> String {
    let mut out = format!("{DECL}<uws:job {NS} version=\"1.1\">");
    out.push_str(&format!("<uws:jobId>{}</uws:jobId>", xml_escape(&job.id)));
    if let Some(r) = &job.run_id {
        out.push_str(&format!("<uws:runId>{}</uws:runId>", xml_escape(r)));
    }
    nillable(&mut out, "ownerId", job.owner.clone());
    out.push_str(&format!("<uws:phase>{}</uws:phase>", job.phase));
    nillable(&mut out, "quote", None);
    out.push_str(&format!(
        "<uws:creationTime>{}</uws:creationTime>",
        iso(job.creation_time)
    ));
    nillable(&mut out, "startTime", job.start_time.map(iso));
    nillable(&mut out, "endTime", job.end_time.map(iso));
    out.push_str(&format!(
        "<uws:executionDuration>{}</uws:executionDuration>",
        job.execution_duration
    ));
    nillable(&mut out, "destruction", Some(iso(job.destruction)));
    out.push_str(&parameters(job));
    out.push_str(&results(job, job_url));
    if let Some(e) = &job.error {
        out.push_str(&format!(
            "<uws:errorSummary type=\"fatal\" hasDetail=\"true\"><uws:message>{}</uws:message></uws:errorSummary>",
            xml_escape(e)
        ));
    }
    out.push_str("</uws:job>\n");
    out
}

/// The job as JSON, with the UWS names: `{"jobId": ..., "phase": ..., "parameters": {...},
/// "results": [{"id", "href", "mimeType", "size"}], "errorSummary": {"message"} | null, ...}`.
pub fn job_json(job: &Job, job_url: &str) -> serde_json::Value {
    let t = |v: Option<i64>| v.map(iso);
    serde_json::json!({
        "jobId": job.id,
        "runId": job.run_id,
        "ownerId": job.owner,
        "phase": job.phase.as_str(),
        "quote": null,
        "creationTime": iso(job.creation_time),
        "startTime": t(job.start_time),
        "endTime": t(job.end_time),
        "executionDuration": job.execution_duration,
        "destruction": iso(job.destruction),
        "parameters": parameters_json(job),
        "results": job.results.iter().map(|r| serde_json::json!({
            "id": r.id,
            "href": format!("{job_url}/results/{}", r.id),
            "mimeType": r.mime,
            "size": r.size,
        })).collect::<Vec<_>>(),
        "errorSummary": job.error.as_ref().map(|m| serde_json::json!({"type": "fatal", "message": m})),
    })
}

/// The parameters as a JSON object: a name given once maps to its value, a name given more
/// than once to the array of its values, in order.
fn parameters_json(job: &Job) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (k, v) in &job.parameters {
        let value = serde_json::Value::String(v.clone());
        match map.get_mut(k) {
            None => {
                map.insert(k.clone(), value);
            }
            Some(serde_json::Value::Array(values)) => values.push(value),
            Some(first) => {
                let first = first.take();
                map.insert(k.clone(), serde_json::Value::Array(vec![first, value]));
            }
        }
    }
    serde_json::Value::Object(map)
}

/// The job list as JSON: `{"jobs": [{"jobId", "href", "phase", "runId", "ownerId",
/// "creationTime"}]}`.
pub fn job_list_json(jobs: &[Job], base: &str) -> serde_json::Value {
    serde_json::json!({
        "jobs": jobs.iter().map(|j| serde_json::json!({
            "jobId": j.id,
            "href": format!("{base}/{}", j.id),
            "phase": j.phase.as_str(),
            "runId": j.run_id,
            "ownerId": j.owner,
            "creationTime": iso(j.creation_time),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{Phase, ResultRef};

    fn sample() -> Job {
        Job {
            id: "j1".into(),
            kind: "tap".into(),
            run_id: Some("my <run>".into()),
            owner: None,
            phase: Phase::Completed,
            creation_time: 0,
            start_time: Some(1000),
            end_time: Some(2500),
            execution_duration: 60,
            destruction: 86_400_000,
            parameters: vec![("QUERY".into(), "SELECT a < b".into())],
            results: vec![ResultRef {
                id: "result".into(),
                mime: "application/x-votable+xml".into(),
                size: 42,
            }],
            error: None,
            lease: None,
        }
    }

    #[test]
    fn the_job_document_follows_the_schema_order() {
        let doc = job(&sample(), "http://h/tap/async/j1");
        let order = [
            "<uws:jobId>j1</uws:jobId>",
            "<uws:runId>my &lt;run&gt;</uws:runId>",
            "<uws:ownerId xsi:nil=\"true\"/>",
            "<uws:phase>COMPLETED</uws:phase>",
            "<uws:quote xsi:nil=\"true\"/>",
            "<uws:creationTime>1970-01-01T00:00:00.000Z</uws:creationTime>",
            "<uws:startTime>1970-01-01T00:00:01.000Z</uws:startTime>",
            "<uws:endTime>1970-01-01T00:00:02.500Z</uws:endTime>",
            "<uws:executionDuration>60</uws:executionDuration>",
            "<uws:destruction>1970-01-02T00:00:00.000Z</uws:destruction>",
            "<uws:parameter id=\"QUERY\">SELECT a &lt; b</uws:parameter>",
            "<uws:result id=\"result\" xlink:type=\"simple\" xlink:href=\"http://h/tap/async/j1/results/result\" size=\"42\" mime-type=\"application/x-votable+xml\"/>",
        ];
        let mut at = 0;
        for part in order {
            let found = doc[at..]
                .find(part)
                .unwrap_or_else(|| panic!("{part} in order in {doc}"));
            at += found + part.len();
        }
        assert!(doc.contains("version=\"1.1\""));
        let j = job_json(&sample(), "http://h/tap/async/j1");
        assert_eq!(j["phase"], "COMPLETED");
        assert_eq!(j["parameters"]["QUERY"], "SELECT a < b");
        assert_eq!(
            j["results"][0]["href"],
            "http://h/tap/async/j1/results/result"
        );
        assert_eq!(j["errorSummary"], serde_json::Value::Null);
        let mut twice = sample();
        twice.parameters.push(("QUERY".into(), "SELECT 2".into()));
        let j = job_json(&twice, "http://h/tap/async/j1");
        assert_eq!(
            j["parameters"]["QUERY"],
            serde_json::json!(["SELECT a < b", "SELECT 2"])
        );
        let l = job_list_json(&[sample()], "http://h/tap/async");
        assert_eq!(l["jobs"][0]["href"], "http://h/tap/async/j1");
        assert_eq!(l["jobs"][0]["phase"], "COMPLETED");
    }

    #[test]
    fn the_list_links_every_job() {
        let list = job_list(&[sample()], "http://h/tap/async");
        assert!(list.contains("<uws:jobref id=\"j1\" xlink:type=\"simple\" xlink:href=\"http://h/tap/async/j1\"><uws:phase>COMPLETED</uws:phase><uws:runId>my &lt;run&gt;</uws:runId><uws:ownerId xsi:nil=\"true\"/><uws:creationTime>1970-01-01T00:00:00.000Z</uws:creationTime></uws:jobref>"), "{list}");
        let p = standalone(&parameters(&sample()));
        assert!(p.starts_with("<?xml"), "{p}");
        assert!(
            p.contains("<uws:parameters xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\""),
            "{p}"
        );
    }
}
