//! TAP async latency and throughput against any TAP service (vogate or a peer such as
//! DaCHS), with the same client for all.
//!
//! `bench_async TAP_URL [JOBS] [BURST]`, e.g. `bench_async http://127.0.0.1:8080/tap 1000 200`:
//! 1. JOBS times, one after another, the UWS cycle of a `TOP 5` query: create (POST), run
//!    (PHASE=RUN), WAIT until it ends, fetch `results/result`, delete; prints p50, p90, p99
//!    and the mean of the cycle, in milliseconds.
//! 2. BURST jobs created and run at once (from 16 client threads), then each waited for,
//!    fetched and deleted; prints how many completed, how many were lost, and the wall time.
//!
//! Plain HTTP/1.0 over loopback, one connection per request, for every server alike.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const QUERY: &str = "SELECT TOP 5 obs_id, s_ra, s_dec FROM ivoa.ObsCore";

#[derive(Clone)]
struct Url {
    host: String,
    port: u16,
    path: String,
}

/// `http://host[:port]/path`. Errors say what is wrong with the URL.
fn parse_url(url: &str) -> Result<Url, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: give an http:// URL of a TAP service"))?;
    let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "80"));
    Ok(Url {
        host: host.to_string(),
        port: port
            .parse()
            .map_err(|_| format!("{url}: '{port}' is not a port number"))?,
        path: format!("/{}", path.trim_end_matches('/')),
    })
}

/// Stop the benchmark with a message (exit code 2).
fn fail(e: String) -> ! {
    eprintln!("bench_async: {e}");
    std::process::exit(2)
}

/// One request: (status, Location, body). A server that cannot be reached stops the run.
fn http(u: &Url, method: &str, path: &str, form: &str) -> (u16, Option<String>, Vec<u8>) {
    let io = |what: &str, e: std::io::Error| -> ! {
        fail(format!("{what} {}:{}{path}: {e}", u.host, u.port))
    };
    let mut s =
        TcpStream::connect((u.host.as_str(), u.port)).unwrap_or_else(|e| io("cannot reach", e));
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap_or_else(|e| io("cannot set a timeout for", e));
    let _ = s.set_nodelay(true);
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {}:{}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        u.host,
        u.port,
        form.len()
    )
    .unwrap_or_else(|e| io("cannot send to", e));
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .unwrap_or_else(|e| io("no answer from", e));
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let location = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("location")
            .then(|| v.trim().to_string())
    });
    (status, location, raw[(split + 4).min(raw.len())..].to_vec())
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The path of an absolute (or relative) job URL.
fn path_of(location: &str) -> String {
    match location.strip_prefix("http://") {
        Some(rest) => rest
            .find('/')
            .map(|i| rest[i..].to_string())
            .unwrap_or_default(),
        None => location.to_string(),
    }
}

fn phase_of(doc: &[u8]) -> String {
    let t = String::from_utf8_lossy(doc);
    t.split_once("phase>")
        .and_then(|(_, r)| r.split_once('<'))
        .map(|(p, _)| p.trim().to_string())
        .unwrap_or_default()
}

/// Create and run a job; its path.
fn start(u: &Url) -> String {
    let form = format!("LANG=ADQL&REQUEST=doQuery&QUERY={}", enc(QUERY));
    let (status, location, body) = http(u, "POST", &format!("{}/async", u.path), &form);
    assert_eq!(status, 303, "create: {}", String::from_utf8_lossy(&body));
    let job = path_of(
        &location.unwrap_or_else(|| fail("the job was made without a Location header".into())),
    );
    let (status, _, body) = http(u, "POST", &format!("{job}/phase"), "PHASE=RUN");
    assert!(
        status == 303 || status == 200,
        "run: {status} {}",
        String::from_utf8_lossy(&body)
    );
    job
}

/// WAIT until the job ends, fetch its result, delete it; false when it did not complete.
fn finish(u: &Url, job: &str) -> bool {
    let phase = loop {
        let (status, _, doc) = http(u, "GET", &format!("{job}?WAIT=30"), "");
        assert_eq!(status, 200, "job: {}", String::from_utf8_lossy(&doc));
        let p = phase_of(&doc);
        if !matches!(p.as_str(), "PENDING" | "QUEUED" | "EXECUTING") {
            break p;
        }
    };
    let ok = phase == "COMPLETED" && {
        let (status, _, result) = http(u, "GET", &format!("{job}/results/result"), "");
        status == 200 && result.windows(7).any(|w| w == b"VOTABLE")
    };
    let (status, _, _) = http(u, "DELETE", job, "");
    assert!(
        status == 303 || status == 200 || status == 204,
        "delete: {status}"
    );
    ok
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let u = parse_url(
        args.get(1)
            .map_or("http://127.0.0.1:8080/tap", String::as_str),
    )
    .unwrap_or_else(|e| fail(e));
    let count = |i: usize, default: usize| match args.get(i) {
        None => default,
        Some(a) => a
            .parse::<usize>()
            .unwrap_or_else(|_| fail(format!("argument {i} ({a}) is not a count"))),
    };
    let (jobs, burst) = (count(2, 1000), count(3, 200));
    // Warm up.
    for _ in 0..5 {
        let j = start(&u);
        finish(&u, &j);
    }
    let mut ms = Vec::with_capacity(jobs);
    let t0 = Instant::now();
    for _ in 0..jobs {
        let t = Instant::now();
        let j = start(&u);
        assert!(finish(&u, &j), "job {j} did not complete");
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let total = t0.elapsed().as_secs_f64();
    ms.sort_by(f64::total_cmp);
    if !ms.is_empty() {
        println!(
        "cycle (create, run, WAIT, fetch, delete) of {jobs} jobs: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, mean {:.2} ms, {:.1} jobs/s",
        percentile(&ms, 0.5),
        percentile(&ms, 0.9),
        percentile(&ms, 0.99),
        ms.iter().sum::<f64>() / ms.len() as f64,
        jobs as f64 / total
        );
    }
    if burst == 0 {
        return;
    }
    let t0 = Instant::now();
    let threads = 16;
    let handles: Vec<_> = (0..threads)
        .map(|k| {
            let n = burst / threads + usize::from(k < burst % threads);
            let u = u.clone();
            std::thread::spawn(move || (0..n).map(|_| start(&u)).collect::<Vec<_>>())
        })
        .collect();
    let started: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect();
    let submitted = t0.elapsed().as_secs_f64();
    let chunks: Vec<Vec<String>> = started
        .chunks(started.len().div_ceil(threads).max(1))
        .map(<[String]>::to_vec)
        .collect();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let u = u.clone();
            std::thread::spawn(move || chunk.iter().filter(|j| finish(&u, j)).count())
        })
        .collect();
    let completed: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    println!(
        "burst of {burst} jobs: {} created in {:.2} s, {completed} completed, {} lost, wall time {:.2} s",
        started.len(),
        submitted,
        burst - completed,
        t0.elapsed().as_secs_f64()
    );
}
