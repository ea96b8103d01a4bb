#!/usr/bin/env bash
# HiPS build performance (issue "HiPS 1.0 build"), side by side in one run: vogate, Hipsgen
# and reproject's reproject_to_hips on the same generated image, at the same order.
#
# Usage: bench_hips.sh VOGATE_RELEASE_BINARY PYTHON [SIZE] [SHARED_FITS_DIR]
#   SIZE: the generated float32 TAN image's side (default 8192; 1 arcsec pixels, smooth sky
#   plus noise). Kept under /var/tmp/vogate-hips-bench and reused.
#   SHARED_FITS_DIR: also time the small shared surveys (there Hipsgen's time is mostly the
#   JVM's start).
# Wall and CPU seconds and peak RSS from /usr/bin/time; tile pixels/s = tiles made at the
# deepest order x width^2 / wall seconds. Hipsgen: java -Xmx6g (its default heap would be a
# quarter of the machine's memory), other parameters at its defaults; reproject with
# reproject_interp (bilinear), threads on. Not run in CI (minutes).
set -euo pipefail
bin=$1 py=$2 size=${3:-8192} shared=${4:-}
root=/var/tmp/vogate-hips-bench
mkdir -p "$root/in-$size"
img="$root/in-$size/sky$size.fits"
if [ ! -f "$img" ]; then
  "$py" - "$img" "$size" <<'EOF'
import sys
import numpy as np
from astropy.io import fits
path, n = sys.argv[1], int(sys.argv[2])
h = fits.Header()
h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
h["CRVAL1"], h["CRVAL2"] = 150.0, 2.2
h["CRPIX1"], h["CRPIX2"] = (n + 1) / 2, (n + 1) / 2
h["CDELT1"], h["CDELT2"] = -1 / 3600, 1 / 3600
h["RADESYS"] = "ICRS"
y, x = np.mgrid[0:n, 0:n].astype(np.float32)
rng = np.random.default_rng(1)
data = (100 + 10 * np.sin(x / 300) * np.cos(y / 410) + rng.normal(0, 1, (n, n))).astype(np.float32)
fits.PrimaryHDU(data, h).writeto(path, overwrite=True)
EOF
fi
order=$("$py" -c "
import math
side = 1 / 3600
for k in range(3, 20):
    if math.degrees(math.sqrt(4 * math.pi / (12 * 4 ** (k + 9)))) <= side:
        print(k); break")
jar=/usr/share/java/aladin.jar

measure() { # name, command...
  local name=$1; shift
  local log="$root/$name.time"
  /usr/bin/time -v "$@" > "$root/$name.log" 2> "$log" || { echo "$name failed:"; tail -20 "$log"; return 1; }
  local wall cpu rss
  wall=$(grep "Elapsed (wall" "$log" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$log")
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$log")
  printf '%s\t%s\t%s\t%s\n' "$name" "$wall" "$cpu" "$rss"
}

tiles_of() { find "$1/Norder$order" -name 'Npix*.fits' | wc -l; }
echo "image: $img (${size}x${size} float32, 1 arcsec pixels); order $order; 2 cores"
echo -e "builder\twall_s\tcpu_s\tpeak_rss_kB\ttiles@order\ttile_pixels_per_s"
for who in vogate hipsgen reproject; do
  out="$root/out-$who-$size"
  rm -rf "$out"
  case $who in
    vogate) line=$(measure vogate "$bin" hips build --out "$out" --in "$img" --order "$order" --id ivo://vogate.local/P/bench) ;;
    hipsgen) line=$(measure hipsgen java -Xmx6g -cp "$jar" cds.allsky.HipsGen in="$root/in-$size" out="$out" order="$order" id=ivo://vogate.local/P/bench-hipsgen) ;;
    reproject) line=$(measure reproject "$py" -c "
import sys
from reproject import reproject_interp
from reproject.hips import reproject_to_hips
reproject_to_hips('$img', coord_system_out='equatorial', reproject_function=reproject_interp,
                  output_directory='$out', level=$order, threads=True)") ;;
  esac
  n=$(tiles_of "$out")
  wall=$(echo "$line" | cut -f2)
  echo -e "$line\t$n\t$(echo "$n * 512 * 512 / $wall" | bc)"
done

if [ -n "$shared" ]; then
  echo "small shared surveys (wall s; Hipsgen's includes the JVM start):"
  for f in gc_2mass_k.fits HorseHead.fits; do
    d="$root/small-$f"; rm -rf "$d"; mkdir -p "$d/in"; ln -s "$shared/$f" "$d/in/$f"
    a=$(measure "v-$f" "$bin" hips build --out "$d/v" --in "$d/in" | cut -f2-4)
    o=$(sed -n 's/^hips_order *= *//p' "$d/v/properties")
    b=$(measure "h-$f" java -Xmx2g -cp "$jar" cds.allsky.HipsGen in="$d/in" out="$d/h" order="$o" id=ivo://vogate.local/P/s | cut -f2-4)
    echo -e "$f\torder $o\tvogate (wall cpu rss) $a\tHipsgen $b"
  done
fi
