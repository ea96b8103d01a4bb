// Open vogate's landing page in Debian chromium (headless, through playwright-core), wait
// for Aladin Lite to draw the HiPS and the ObsCore footprints, and write to OUTDIR:
// sky.png (a screenshot of the sky view), closeup-N.png (the view centred on each of the
// footprints of the products DID... (default: the first six), twice its size across) and result.json (what the page recorded,
// every URL the browser requested, and each footprint's outline in each screenshot's
// pixels).
// Usage: node check.mjs URL OUTDIR [DID...]
import { chromium } from 'playwright-core';
import { writeFileSync } from 'node:fs';

const [url, outdir, ...dids] = process.argv.slice(2);
if (!url || !outdir) {
  console.error('usage: node check.mjs URL OUTDIR [DID...]');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run',
  ],
});
const result = { url, requests: [], console: [], errors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('request', (r) => result.requests.push(r.url()));
  page.on('console', (m) => result.console.push(m.type() + ': ' + m.text()));
  page.on('pageerror', (e) => result.errors.push(String(e)));
  await page.goto(url, { waitUntil: 'load', timeout: 60000 });
  await page.waitForFunction(
    () => document.body.dataset.footprints !== undefined || document.body.dataset.aladin === 'failed',
    null, { timeout: 90000 });
  // The tiles arrive after the view is set up: wait for some, then for the drawing.
  const tiles = () => result.requests.filter((u) => /\/hips\/[^/]+\/Norder\d+\//.test(u)).length;
  for (let i = 0; i < 60 && tiles() === 0; i++) await page.waitForTimeout(500);
  await page.waitForTimeout(4000);
  // Each footprint's outline in the view's pixels (null where it is out of view).
  const outlines = () => page.evaluate(() => {
    const v = window.vogate;
    if (!v) return [];
    return v.products.map((p) => {
      const pts = p.region.kind === 'POLYGON' ? p.region.pts : [[p.region.ra, p.region.dec]];
      const xy = pts.map(([ra, dec]) => {
        const q = v.aladin.world2pix(ra, dec);
        return q ? Array.from(q) : null;
      });
      return { did: p.did, xy: xy.every((q) => q) ? xy : null };
    });
  });
  Object.assign(result, await page.evaluate(() => ({
    aladin: document.body.dataset.aladin || null,
    footprints: Number(document.body.dataset.footprints || 0),
    status: document.getElementById('sky-status')?.textContent || null,
  })));
  result.outlines = await outlines();
  await page.locator('#sky').screenshot({ path: outdir + '/sky.png' });
  // Then up to six footprints close up: the view centred on each, twice its size across,
  // once its tiles are drawn.
  result.closeups = [];
  const all = await page.evaluate(() => (window.vogate ? window.vogate.products.map((p) => p.did) : []));
  const picked = dids.length ? dids.map((d) => all.indexOf(d)) : all.slice(0, 6).map((_, k) => k);
  for (const i of picked) {
    if (i < 0) {
      result.errors.push('a footprint asked for a close-up is not drawn');
      continue;
    }
    const before = result.requests.length;
    await page.evaluate((k) => {
      const v = window.vogate;
      const r = v.products[k].region;
      const pts = r.kind === 'POLYGON' ? r.pts : [[r.ra, r.dec]];
      const d2r = Math.PI / 180;
      // The centre: the mean of the corners' unit vectors.
      let [x, y, z] = [0, 0, 0];
      for (const [ra, dec] of pts) {
        x += Math.cos(dec * d2r) * Math.cos(ra * d2r);
        y += Math.cos(dec * d2r) * Math.sin(ra * d2r);
        z += Math.sin(dec * d2r);
      }
      const ra = Math.atan2(y, x) / d2r;
      const dec = Math.atan2(z, Math.hypot(x, y)) / d2r;
      let size = r.kind === 'CIRCLE' ? 2 * r.r : 0;
      for (const [a, b] of pts) {
        const c = Math.sin(b * d2r) * Math.sin(dec * d2r)
          + Math.cos(b * d2r) * Math.cos(dec * d2r) * Math.cos((a - ra) * d2r);
        size = Math.max(size, 2 * Math.acos(Math.min(1, c)) / d2r);
      }
      v.aladin.gotoRaDec((ra + 360) % 360, dec);
      v.aladin.setFoV(Math.max(size * 2, 1e-3));
    }, i);
    for (let t = 0; t < 20 && result.requests.length === before; t++) await page.waitForTimeout(250);
    await page.waitForTimeout(3000);
    const o = (await outlines())[i];
    const file = `closeup-${i}.png`;
    await page.locator('#sky').screenshot({ path: outdir + '/' + file });
    result.closeups.push({ did: o.did, xy: o.xy, file });
  }
} catch (e) {
  result.errors.push(String(e));
} finally {
  writeFileSync(outdir + '/result.json', JSON.stringify(result, null, 1));
  await browser.close();
}
