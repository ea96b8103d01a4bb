#!/usr/bin/env bash
# HiPS builds judged by Hipsgen (issue "HiPS 1.0 build"): for each survey, vogate builds a
# HiPS, Hipsgen's LINT checks it (its `*ERROR` lines fail; `*WARN*` lines are reported),
# Hipsgen builds the same inputs at vogate's order (other parameters at Hipsgen's defaults)
# and conformance/hips_compare.py compares the deepest order's FITS tiles.
#
# Usage: hips_vs_hipsgen.sh VOGATE_BINARY FITS_DIR PYTHON [SURVEY...]
# Surveys: 2mass_k (default in CI), gc_j, gc_h, gc_k, 1904-66, horsehead, all (those six),
# and gc_k_galactic (2MASS K in a Galactic HiPS).
# Hipsgen: java -cp /usr/share/java/aladin.jar (Debian package aladin).
set -uo pipefail
bin=$1 fits=$2 py=$3
shift 3
surveys=("$@")
[ ${#surveys[@]} -eq 0 ] && surveys=(2mass_k)
[ "${surveys[0]}" = all ] && surveys=(2mass_k gc_j gc_h gc_k 1904-66 horsehead)
here=$(cd "$(dirname "$0")" && pwd)
jar=/usr/share/java/aladin.jar
work=$(mktemp -d /tmp/vogate-hips.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=0

inputs_of() {
  case $1 in
    2mass_k|gc_k|gc_k_galactic) echo gc_2mass_k.fits ;;
    gc_j) echo gc_2mass_j.fits ;;
    gc_h) echo gc_2mass_h.fits ;;
    1904-66) echo 1904-66_SIN.fits 1904-66_AIT.fits 1904-66_SIN.lb.fits ;;
    horsehead) echo HorseHead.fits ;;
    *) echo "unknown survey $1" >&2; return 1 ;;
  esac
}

for s in "${surveys[@]}"; do
  files=$(inputs_of "$s") || { failed=1; continue; }
  mkdir -p "$work/$s/in"
  for f in $files; do ln -s "$fits/$f" "$work/$s/in/$f"; done
  ours="$work/$s/vogate" theirs="$work/$s/hipsgen"
  frame=equatorial; [ "$s" = gc_k_galactic ] && frame=galactic
  t0=$(date +%s.%N)
  if ! "$bin" hips build --out "$ours" --in "$work/$s/in" --frame "$frame" --title "$s" --id "ivo://vogate.local/P/$s" > "$work/$s/vogate.log" 2>&1; then
    echo "$s: vogate hips build failed:"; cat "$work/$s/vogate.log"; failed=1; continue
  fi
  t1=$(date +%s.%N)
  order=$(sed -n 's/^hips_order *= *//p' "$ours/properties")
  java -cp "$jar" cds.allsky.HipsGen out="$ours" LINT > "$work/$s/lint.log" 2>&1
  errors=$(grep -c '\*ERROR' "$work/$s/lint.log")
  warns=$(grep '\*WARN\*' "$work/$s/lint.log" | sed 's/\x1b\[[0-9;]*m//g; s/^ *//' | tr '\n' ';')
  echo "$s: LINT $errors errors; warnings: ${warns:-none}"
  [ "$errors" -eq 0 ] || { grep '\*ERROR' "$work/$s/lint.log"; failed=1; }
  t2=$(date +%s.%N)
  java -Xmx2g -cp "$jar" cds.allsky.HipsGen in="$work/$s/in" out="$theirs" order="$order" frame="$frame" \
    id="ivo://vogate.local/P/$s-hipsgen" > "$work/$s/hipsgen.log" 2>&1
  t3=$(date +%s.%N)
  printf '%s: order %s; vogate %.2f s, Hipsgen %.2f s (wall, JVM start included)\n' \
    "$s" "$order" "$(echo "$t1 - $t0" | bc)" "$(echo "$t3 - $t2" | bc)"
  if [ ! -d "$theirs/Norder$order" ]; then
    echo "$s: Hipsgen made no order $order:"; tail -5 "$work/$s/hipsgen.log"; failed=1; continue
  fi
  # One input: astropy's resampling of it arbitrates where the two differ.
  set -- $files
  ref=(); [ $# -eq 1 ] && ref=("$fits/$1")
  "$py" "$here/hips_compare.py" "$ours" "$theirs" "$order" "${ref[@]}" | sed "s/^/$s: /"
  [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
done
if [ "$failed" -ne 0 ]; then echo "hips vs Hipsgen: FAILED"; exit 1; fi
echo "hips vs Hipsgen: ${#surveys[@]} surveys passed"
