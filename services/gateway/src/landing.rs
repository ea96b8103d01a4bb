//! The landing page `/`: the endpoints and example queries, and the archive's sky in Aladin
//! Lite: the first served HiPS (`[[hips]]`, or the demo sky's) with the ObsCore footprints
//! (`s_region`, from TAP as JSON) drawn over it, each clickable to its DataLink `{links}`.
//! Aladin Lite's script comes from the local copy configured (`--aladin-lite`, served at
//! `/static/aladin.js`), else from its public URL; without it (offline, or JavaScript off)
//! the page still lists the services.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use vo_common::votable::xml_escape;
use vo_common::VoError;

use crate::{endpoints, Gateway};

/// Aladin Lite v3 from its public URL (a classic script defining the global `A`), used when
/// no local copy is configured.
pub const ALADIN_LITE_PUBLIC: &str =
    "https://aladin.cds.unistra.fr/AladinLite/api/v3/latest/aladin.js";

/// The most footprints the page draws (the first rows of ObsCore with an `s_region`).
pub const MAX_FOOTPRINTS: usize = 5000;

/// The HiPS the page shows: what its `properties` say.
#[derive(Debug, Clone, PartialEq)]
struct SkyView {
    url: String,
    title: String,
    /// `png`, `jpeg` or `fits`: the format Aladin Lite is asked for (PNG first).
    format: &'static str,
    frame: String,
    ra: f64,
    dec: f64,
    fov: f64,
}

/// The first HiPS of `gw` whose `properties` can be read (the demo sky's is there once its
/// first build is done).
fn sky_view(gw: &Gateway) -> Option<SkyView> {
    let base = gw.settings.base_url.trim_end_matches('/');
    gw.settings.hips.iter().find_map(|h| {
        let text = std::fs::read_to_string(h.path.join("properties")).ok()?;
        let props = vo_hips::properties::parse(&text);
        let get = |k: &str| {
            props
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        let num = |k: &str, d: f64| {
            get(k)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .unwrap_or(d)
        };
        let formats = get("hips_tile_format").unwrap_or_default();
        let has = |f: &str| formats.split_whitespace().any(|w| w == f);
        let format = if has("png") {
            "png"
        } else if has("jpeg") {
            "jpeg"
        } else {
            "fits"
        };
        Some(SkyView {
            url: format!("{base}/hips/{}", h.id),
            title: h
                .title
                .clone()
                .or_else(|| get("obs_title"))
                .unwrap_or_else(|| h.id.clone()),
            format,
            frame: get("hips_frame").unwrap_or_else(|| "equatorial".into()),
            ra: num("hips_initial_ra", 0.0),
            dec: num("hips_initial_dec", 0.0),
            fov: num("hips_initial_fov", 180.0).clamp(0.01, 180.0),
        })
    })
}

/// A string as a JavaScript string literal (JSON), safe inside a `<script>` element.
fn js_string(s: &str) -> String {
    serde_json::Value::String(s.to_string())
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
}

/// `/`: the landing page.
pub async fn landing(gw: web::Data<Gateway>) -> HttpResponse {
    let rows = match gw.tap.backend.obscore_count().await {
        Ok(n) => n,
        Err(e) => return vo_dali::error_response(&e),
    };
    let base = gw.settings.base_url.trim_end_matches('/');
    let example = "SELECT TOP 10 obs_id, s_ra, s_dec, s_fov FROM ivoa.ObsCore";
    let cone = "SELECT obs_id, s_ra, s_dec FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10.68, 41.27, 1)) = 1";
    let enc = |q: &str| vo_obscore::ingest::percent_encode(q);
    let list: String = endpoints(base)
        .iter()
        .map(|(what, url)| format!("<li>{what}: <code>{}</code></li>", xml_escape(url)))
        .collect();
    let sky = match sky_view(&gw) {
        Some(v) => {
            let (script, local) = match &gw.settings.aladin_lite {
                Some(_) => (format!("{base}/static/aladin.js"), true),
                None => (ALADIN_LITE_PUBLIC.to_string(), false),
            };
            let config = serde_json::json!({
                "hips": v.url,
                "title": v.title,
                "format": v.format,
                "frame": v.frame,
                "ra": v.ra,
                "dec": v.dec,
                "fov": v.fov,
                "tap": format!("{base}/tap/sync"),
                "datalink": format!("{base}/datalink/links"),
                "maxFootprints": MAX_FOOTPRINTS,
                "aladin": script,
                "aladinIsModule": local,
            });
            format!(
                "<h2>The sky</h2><p>{title}, with the footprints of the ObsCore rows drawn over \
                 it: click one for its DataLink links.</p>\
                 <div id=\"sky\" style=\"width:100%;max-width:960px;height:540px;background:#000\"></div>\
                 <p id=\"sky-status\">Loading Aladin Lite from <code>{script_html}</code> ...</p>\
                 <div id=\"picked\"></div>\
                 <script type=\"module\">const VOGATE = {config};\n{SKY_JS}</script>",
                title = xml_escape(&v.title),
                script_html = xml_escape(&script),
                config = js_string(&config.to_string()),
            )
        }
        None if gw.settings.hips.is_empty() => String::new(),
        None => "<h2>The sky</h2><p>The HiPS of the images is being built; reload in a \
                 moment to see it.</p>"
            .to_string(),
    };
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>vogate</title></head><body>\
         <h1>vogate</h1><p>IVOA data-access services over {} ObsCore rows from <code>{}</code>.</p>\
         {sky}<h2>Services</h2><ul>{list}</ul><h2>Try</h2><ul>\
         <li><a href=\"{base}/tap/sync?LANG=ADQL&amp;QUERY={}\">{example}</a></li>\
         <li><a href=\"{base}/tap/sync?LANG=ADQL&amp;RESPONSEFORMAT=json&amp;QUERY={}\">a cone around M31, as JSON</a></li>\
         </ul></body></html>",
        rows,
        xml_escape(&gw.data_root.display().to_string()),
        enc(example),
        enc(cone),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

/// `/static/aladin.js`: the configured local copy of Aladin Lite (404 when there is none).
pub async fn aladin_script(gw: web::Data<Gateway>, req: HttpRequest) -> HttpResponse {
    let not_found = || {
        vo_dali::error_response(&VoError::not_found(
            "no local copy of Aladin Lite is configured (--aladin-lite or aladin_lite in the \
             config); the landing page loads it from its public URL",
        ))
    };
    let Some(path) = &gw.settings.aladin_lite else {
        return not_found();
    };
    match crate::hips_serve::send_file(path, mime::TEXT_JAVASCRIPT, "public, max-age=86400", &req)
        .await
    {
        Ok(resp) => resp,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "Aladin Lite's script cannot be read");
            not_found()
        }
    }
}

/// The page's script (a module): load Aladin Lite, show the HiPS, fetch the footprints from
/// TAP (JSON: `{"metadata": [...], "data": [[...]]}`), draw them, and list the products
/// under a click with their DataLink URL. `document.body.dataset` records what happened
/// (`aladin`, `footprints`) and `window.vogate` holds the view and the footprints, for the
/// browser check (conformance/browser_check.sh).
const SKY_JS: &str = r#"
const cfg = JSON.parse(VOGATE);
const status = document.getElementById('sky-status');
const say = (t) => { status.textContent = t; };

async function loadAladin() {
  if (cfg.aladinIsModule) {
    const m = await import(cfg.aladin);
    return m.default || window.A;
  }
  await new Promise((ok, fail) => {
    const s = document.createElement('script');
    s.src = cfg.aladin;
    s.onload = ok;
    s.onerror = () => fail(new Error('cannot load ' + cfg.aladin));
    document.head.appendChild(s);
  });
  return window.A;
}

// STC-S as ObsCore's s_region holds it: POLYGON [frame] lon lat ... or CIRCLE [frame] lon lat r.
function parseRegion(s) {
  if (typeof s !== 'string') return null;
  const w = s.trim().split(/\s+/);
  const kind = (w.shift() || '').toUpperCase();
  if (w.length && isNaN(parseFloat(w[0]))) w.shift();
  const n = w.map(Number);
  if (n.some(isNaN)) return null;
  if (kind === 'POLYGON' && n.length >= 6 && n.length % 2 === 0) {
    const pts = [];
    for (let i = 0; i < n.length; i += 2) pts.push([n[i], n[i + 1]]);
    return { kind, pts };
  }
  if (kind === 'CIRCLE' && n.length === 3) return { kind, ra: n[0], dec: n[1], r: n[2] };
  return null;
}

// Whether (ra, dec) lies in the region, in the plane tangent at the point (footprints are
// small); degrees.
function contains(reg, ra, dec) {
  const d2r = Math.PI / 180;
  if (reg.kind === 'CIRCLE') {
    const c = Math.sin(dec * d2r) * Math.sin(reg.dec * d2r)
      + Math.cos(dec * d2r) * Math.cos(reg.dec * d2r) * Math.cos((ra - reg.ra) * d2r);
    return Math.acos(Math.min(1, Math.max(-1, c))) / d2r <= reg.r;
  }
  const xy = reg.pts.map(([a, b]) => {
    let dx = a - ra;
    dx -= 360 * Math.round(dx / 360);
    return [dx * Math.cos(dec * d2r), b - dec];
  });
  let inside = false;
  for (let i = 0, j = xy.length - 1; i < xy.length; j = i++) {
    const [xi, yi] = xy[i], [xj, yj] = xy[j];
    if ((yi > 0) !== (yj > 0) && 0 < ((xj - xi) * (0 - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function show(products) {
  const box = document.getElementById('picked');
  box.textContent = '';
  if (!products.length) return;
  const h = document.createElement('h3');
  h.textContent = products.length + ' product' + (products.length > 1 ? 's' : '') + ' here';
  box.appendChild(h);
  const ul = document.createElement('ul');
  for (const p of products) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = cfg.datalink + '?ID=' + encodeURIComponent(p.did);
    a.textContent = p.obsId || p.did;
    a.target = '_blank';
    li.appendChild(a);
    li.appendChild(document.createTextNode(' (DataLink)'));
    ul.appendChild(li);
  }
  box.appendChild(ul);
}

async function footprints() {
  const q = 'SELECT obs_publisher_did, obs_id, s_region FROM ivoa.ObsCore WHERE s_region IS NOT NULL';
  const url = cfg.tap + '?LANG=ADQL&RESPONSEFORMAT=json&MAXREC=' + cfg.maxFootprints
    + '&QUERY=' + encodeURIComponent(q);
  const r = await fetch(url);
  if (!r.ok) throw new Error('TAP answered ' + r.status);
  const j = await r.json();
  const col = (name) => j.metadata.findIndex((m) => m.name.toLowerCase() === name);
  const [did, id, reg] = [col('obs_publisher_did'), col('obs_id'), col('s_region')];
  const out = [];
  for (const row of j.data) {
    const region = parseRegion(row[reg]);
    if (region) out.push({ did: row[did], obsId: row[id], region });
  }
  return out;
}

try {
  const A = await loadAladin();
  await A.init;
  document.body.dataset.aladin = 'loaded';
  const aladin = A.aladin('#sky', {
    survey: cfg.hips,
    target: cfg.ra + ' ' + cfg.dec,
    fov: cfg.fov,
    cooFrame: 'ICRS',
    showCooGridControl: true,
    showReticle: false,
  });
  aladin.setBaseImageLayer(A.imageHiPS(cfg.hips, {
    name: cfg.title,
    imgFormat: cfg.format,
    cooFrame: cfg.frame === 'galactic' ? 'galactic' : 'equatorial',
  }));
  say(cfg.title + ': loading the footprints ...');
  const products = await footprints();
  const overlay = A.graphicOverlay({ color: '#ffd400', lineWidth: 2 });
  aladin.addOverlay(overlay);
  for (const p of products) {
    const shape = p.region.kind === 'CIRCLE'
      ? A.circle(p.region.ra, p.region.dec, p.region.r)
      : A.polygon(p.region.pts.map((x) => [x[0], x[1]]));
    shape.vogate = p;
    overlay.add(shape);
  }
  window.vogate = { aladin, products };
  document.body.dataset.footprints = String(products.length);
  say(cfg.title + ': ' + products.length + ' footprints; click one for its DataLink links.');
  aladin.on('footprintClicked', (o) => { if (o && o.vogate) show([o.vogate]); });
  aladin.on('click', (e) => {
    if (!e || typeof e.ra !== 'number' || e.isDragging) return;
    const hit = products.filter((p) => contains(p.region, e.ra, e.dec));
    if (hit.length) show(hit);
  });
} catch (err) {
  document.body.dataset.aladin = 'failed';
  say('The sky view is not available (' + err.message + '); the services are listed below.');
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_strings_cannot_close_the_script_element() {
        let s = js_string("</script><script>alert(1)</script>");
        assert!(!s.contains('<') && !s.contains('>'), "{s}");
        let back: String = serde_json::from_str(&s).expect("json");
        assert_eq!(back, "</script><script>alert(1)</script>");
    }
}
