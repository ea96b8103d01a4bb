//! HiPS served by the gateway (`[[hips]]`): the HiPS list, tiles with their MIME types,
//! ETag (304 on If-None-Match), Cache-Control, CORS and gzip, and no way out of a HiPS
//! folder.

use actix_web::{http::header, test, App};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use vo_common::config::{FileConfig, HipsConfig};
use vo_obscore::demo::{write_image, ImageSpec};
use vogate::settings::{resolve, Flags};

fn main() -> std::process::ExitCode {
    vo_testkit::run(vec![
        vo_testkit::Test::actix("hips_are_listed_and_served", hips_are_listed_and_served),
        vo_testkit::Test::sync("bad_hips_entries_are_refused", bad_hips_entries_are_refused),
        vo_testkit::Test::actix(
            "the_demo_sky_comes_with_its_hips",
            the_demo_sky_comes_with_its_hips,
        ),
        vo_testkit::Test::actix(
            "the_landing_page_shows_the_hips_in_aladin_lite",
            the_landing_page_shows_the_hips_in_aladin_lite,
        ),
    ])
}

/// The value of header `name` as text ("" when absent).
fn hv(h: &actix_web::http::header::HeaderMap, name: header::HeaderName) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// A HiPS (FITS and PNG tiles) of one image, built into `out`.
fn small_hips(dir: &Path, out: &Path) {
    let img = dir.join("img.fits");
    write_image(&img, &ImageSpec::tan(40.0, 10.0, 60, 60, 0.02)).expect("image");
    let opts = vo_hips::BuildOptions {
        out: out.to_path_buf(),
        order: Some(4),
        frame: vo_hips::HipsFrame::equatorial(),
        tile_width: 64,
        overlay: vo_hips::Overlay::Mean,
        hdu: vo_hips::HduChoice::Science,
        resume: false,
        formats: vo_hips::TileFormat::parse_list("png").expect("formats"),
        pixel_cut: None,
        properties: vo_hips::Properties {
            creator_did: "ivo://vogate.local/P/small".into(),
            obs_title: "small".into(),
            release_date: "2026-12-05T00:00Z".into(),
            builder: "test".into(),
            ..Default::default()
        },
    };
    vo_hips::build(&[img], &opts, &vo_hips::Quiet, &AtomicBool::new(false)).expect("build");
}

fn settings(dir: &Path, hips: Vec<HipsConfig>) -> Result<vogate::settings::Settings, String> {
    let flags = Flags {
        workdir: Some(dir.join("work")),
        ..Default::default()
    };
    let file = FileConfig {
        hips,
        ..Default::default()
    };
    resolve(flags, file, Some(dir))
}

fn first_tile(root: &Path, ext: &str) -> String {
    let order = root.join("Norder4");
    for d in std::fs::read_dir(&order).expect("order 4").flatten() {
        for f in std::fs::read_dir(d.path()).expect("dir").flatten() {
            let p: PathBuf = f.path();
            if p.extension().is_some_and(|e| e == ext) {
                return p
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
            }
        }
    }
    panic!("no .{ext} tile")
}

async fn hips_are_listed_and_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    small_hips(dir.path(), &dir.path().join("maps/small"));
    let s = settings(
        dir.path(),
        vec![HipsConfig {
            id: "small".into(),
            // Relative to the config file's folder.
            path: PathBuf::from("maps/small"),
            title: Some("A small map".into()),
        }],
    )
    .expect("settings");
    let gw = vogate::prepare(s).expect("prepare");
    let base = gw.settings.base_url.trim_end_matches('/').to_string();
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;

    // The HiPS list: the properties, with where vogate serves the HiPS and the given title.
    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/hips/list").to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(hv(resp.headers(), header::CONTENT_TYPE).starts_with("text/plain"));
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf-8");
    let kv = vo_hips::properties::parse(&body);
    let get = |k: &str| kv.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    assert_eq!(get("hips_service_url"), Some(format!("{base}/hips/small")));
    assert_eq!(get("obs_title").as_deref(), Some("A small map"));
    assert_eq!(
        get("creator_did").as_deref(),
        Some("ivo://vogate.local/P/small")
    );
    assert_eq!(get("hips_order").as_deref(), Some("4"));
    assert_eq!(get("hips_tile_format").as_deref(), Some("fits png"));

    // A FITS tile: its bytes, type, validators and caching; CORS for a browser's origin.
    let root = dir.path().join("maps/small");
    let tile = first_tile(&root, "fits");
    let req = test::TestRequest::get()
        .uri(&format!("/hips/small/{tile}"))
        .insert_header((header::ORIGIN, "http://example.org"))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(hv(&h, header::CONTENT_TYPE), "application/fits");
    assert_eq!(hv(&h, header::CACHE_CONTROL), "public, max-age=3600");
    assert_eq!(hv(&h, header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
    let etag = hv(&h, header::ETAG);
    let body = test::read_body(resp).await;
    assert_eq!(
        body.to_vec(),
        std::fs::read(root.join(&tile)).expect("tile")
    );
    let req = test::TestRequest::get()
        .uri(&format!("/hips/small/{tile}"))
        .insert_header((header::IF_NONE_MATCH, etag))
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 304);
    // gzip when asked.
    let req = test::TestRequest::get()
        .uri(&format!("/hips/small/{tile}"))
        .insert_header((header::ACCEPT_ENCODING, "gzip"))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(hv(resp.headers(), header::CONTENT_ENCODING), "gzip");

    for (uri, want) in [
        (
            format!("/hips/small/{}", first_tile(&root, "png")),
            "image/png",
        ),
        (
            "/hips/small/properties".to_string(),
            "text/plain; charset=utf-8",
        ),
        ("/hips/small/Moc.fits".to_string(), "application/fits"),
        ("/hips/small/Norder3/Allsky.png".to_string(), "image/png"),
    ] {
        let resp = test::call_service(&app, test::TestRequest::get().uri(&uri).to_request()).await;
        assert_eq!(resp.status(), 200, "{uri}");
        assert_eq!(hv(resp.headers(), header::CONTENT_TYPE), want, "{uri}");
    }
    // No way out of the folder, no unknown HiPS or file.
    std::fs::write(dir.path().join("maps/secret.txt"), b"k7Qz-file-content").expect("write");
    for uri in [
        "/hips/small/../secret.txt",
        "/hips/small/..%2Fsecret.txt",
        "/hips/small/Norder4/../../secret.txt",
        "/hips/small/%2e%2e/secret.txt",
        "/hips/small//etc/passwd",
        "/hips/nothere/properties",
        "/hips/small/Norder9/Dir0/Npix0.fits",
        "/hips/small/",
    ] {
        let resp = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(resp.status(), 404, "{uri}");
        let body = test::read_body(resp).await;
        assert!(!body.windows(6).any(|w| w == b"k7Qz-f"), "{uri}");
    }
}

fn bad_hips_entries_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let entry = |id: &str, path: &str| HipsConfig {
        id: id.into(),
        path: PathBuf::from(path),
        title: None,
    };
    let e = settings(dir.path(), vec![entry("a/b", ".")]).expect_err("bad id");
    assert!(e.contains("'a/b'"), "{e}");
    let e = settings(dir.path(), vec![entry("x", "missing")]).expect_err("no properties");
    assert!(e.contains("no properties file"), "{e}");
    std::fs::write(dir.path().join("properties"), "creator_did = ivo://x/y\n").expect("write");
    let e = settings(dir.path(), vec![entry("x", "."), entry("x", ".")]).expect_err("twice");
    assert!(e.contains("given twice"), "{e}");
    assert!(settings(dir.path(), vec![entry("x", ".")]).is_ok());
}

/// Without --data, the first start tiles the demo sky (on a thread of its own) and serves it.
async fn the_demo_sky_comes_with_its_hips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("work/hips/demo-sky");
    {
        let gw = vogate::prepare(settings(dir.path(), vec![]).expect("settings")).expect("prepare");
        let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
        let t0 = std::time::Instant::now();
        let list = loop {
            let resp = test::call_service(
                &app,
                test::TestRequest::get().uri("/hips/list").to_request(),
            )
            .await;
            let body = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf-8");
            if body.contains("hips_service_url") {
                break body;
            }
            assert!(
                t0.elapsed().as_secs() < 300,
                "the demo sky's HiPS was not built"
            );
            actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        let kv = vo_hips::properties::parse(&list);
        let get = |k: &str| kv.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
        assert!(get("hips_service_url").is_some_and(|u| u.ends_with("/hips/demo-sky")));
        assert_eq!(get("hips_tile_format").as_deref(), Some("fits png"));
        let order: u8 = get("hips_order").expect("order").parse().expect("number");
        // One of its PNG tiles is served.
        let tile = {
            let d = root.join(format!("Norder{order}"));
            let sub = std::fs::read_dir(&d)
                .expect("order dir")
                .flatten()
                .next()
                .expect("a Dir");
            let f = std::fs::read_dir(sub.path())
                .expect("dir")
                .flatten()
                .map(|f| f.path())
                .find(|p| p.extension().is_some_and(|e| e == "png"))
                .expect("a PNG tile");
            f.strip_prefix(&root)
                .expect("under root")
                .to_string_lossy()
                .into_owned()
        };
        let resp = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(&format!("/hips/demo-sky/{tile}"))
                .to_request(),
        )
        .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(hv(resp.headers(), header::CONTENT_TYPE), "image/png");
    }
    // A second start (the first's service and gateway, with the workdir lock, gone) reuses
    // it.
    let modified = std::fs::metadata(root.join("properties"))
        .and_then(|m| m.modified())
        .expect("mtime");
    let gw = vogate::prepare(settings(dir.path(), vec![]).expect("settings")).expect("again");
    assert_eq!(
        std::fs::metadata(root.join("properties"))
            .and_then(|m| m.modified())
            .expect("mtime"),
        modified
    );
    drop(gw);
}

/// What the landing page's script is given (`const VOGATE = "<json>"`), parsed.
fn sky_config(page: &str) -> serde_json::Value {
    let start = page.find("const VOGATE = ").expect("the sky view's config") + 15;
    let end = start + page[start..].find(";\n").expect("end of the config");
    let text: String = serde_json::from_str(&page[start..end]).expect("a JS string");
    serde_json::from_str(&text).expect("JSON")
}

async fn the_landing_page_shows_the_hips_in_aladin_lite() {
    let dir = tempfile::tempdir().expect("tempdir");
    small_hips(dir.path(), &dir.path().join("maps/small"));
    let entry = HipsConfig {
        id: "small".into(),
        path: PathBuf::from("maps/small"),
        title: None,
    };
    let get = |uri: &str| test::TestRequest::get().uri(uri).to_request();

    // Without a local copy: Aladin Lite from its public URL; /static/aladin.js is a 404.
    let s = settings(dir.path(), vec![entry.clone()]).expect("settings");
    let gw = vogate::prepare(s).expect("prepare");
    let base = gw.settings.base_url.trim_end_matches('/').to_string();
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let resp = test::call_service(&app, get("/")).await;
    assert_eq!(resp.status(), 200);
    let page = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf-8");
    let cfg = sky_config(&page);
    assert_eq!(cfg["hips"], format!("{base}/hips/small"));
    assert_eq!(cfg["format"], "png");
    assert_eq!(cfg["aladin"], vogate::landing::ALADIN_LITE_PUBLIC);
    assert_eq!(cfg["aladinIsModule"], false);
    assert_eq!(cfg["tap"], format!("{base}/tap/sync"));
    assert_eq!(cfg["datalink"], format!("{base}/datalink/links"));
    // The HiPS's initial field: the one image, 40 10, 1.2 degrees across (its diagonal).
    let ra = cfg["ra"].as_f64().expect("ra");
    let dec = cfg["dec"].as_f64().expect("dec");
    assert!(
        (ra - 40.0).abs() < 0.01 && (dec - 10.0).abs() < 0.01,
        "{ra} {dec}"
    );
    // The services are listed whatever the script does.
    assert!(page.contains(&format!("<code>{base}/tap</code>")), "{page}");
    let resp = test::call_service(&app, get("/static/aladin.js")).await;
    assert_eq!(resp.status(), 404);

    // With a local copy (npm's layout): served as JavaScript, loaded as a module.
    let script = dir
        .path()
        .join("npm/node_modules/aladin-lite/dist/aladin.js");
    std::fs::create_dir_all(script.parent().expect("parent")).expect("mkdir");
    std::fs::write(&script, "const A = {}; export { A as default };").expect("write");
    // (Another workdir: the first gateway's stays locked while its threads run.)
    let other = tempfile::tempdir().expect("tempdir");
    let absolute = HipsConfig {
        path: dir.path().join("maps/small"),
        ..entry
    };
    let mut s = settings(other.path(), vec![absolute]).expect("settings");
    s.aladin_lite = Some(script.clone());
    let gw = vogate::prepare(s).expect("prepare");
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let page = String::from_utf8(
        test::read_body(test::call_service(&app, get("/")).await)
            .await
            .to_vec(),
    )
    .expect("utf-8");
    let cfg = sky_config(&page);
    assert_eq!(cfg["aladin"], format!("{base}/static/aladin.js"));
    assert_eq!(cfg["aladinIsModule"], true);
    let resp = test::call_service(&app, get("/static/aladin.js")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(hv(resp.headers(), header::CONTENT_TYPE), "text/javascript");
    let body = test::read_body(resp).await;
    assert_eq!(
        &body[..],
        std::fs::read(&script).expect("script").as_slice()
    );
}
