#!/usr/bin/env bash
# Install pgSphere for PostgreSQL 15 and make `CREATE EXTENSION pg_sphere` work.
#
# Debian bookworm's postgresql-15-pgsphere (pgSphere 1.2.0) declares two obsolete MOC
# compatibility operators, `@ (bigint, smoc)` and `@ (spoint, smoc)`, whose COMMUTATOR
# clashes with the stricter operator checks of current PostgreSQL 15 minor releases:
# CREATE EXTENSION fails with "commutator operator @> is already the commutator of operator
# <@". pgSphere upstream dropped exactly these two operators (pgsphere pull request 92); this
# script removes the same block from the installed extension script. vogate uses neither.
# Idempotent; needs root.
set -euo pipefail
if ! dpkg -s postgresql-15-pgsphere >/dev/null 2>&1; then
  apt-get install -y -qq postgresql-15-pgsphere || { apt-get update -qq && apt-get install -y -qq postgresql-15-pgsphere; }
fi
shopt -s nullglob
for f in /usr/share/postgresql/*/extension/pg_sphere--1.2.0.sql; do
  if grep -q '^-- a minimal set of backwards-compatible operators for GAVO DaCHS' "$f"; then
    python3 - "$f" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
start = s.index('-- a minimal set of backwards-compatible operators for GAVO DaCHS')
end = s.index('-- debugging', start)
block = s[start:end]
assert block.count('CREATE OPERATOR @ (') == 2, block
open(p, 'w').write(s[:start] + s[end:])
print(f'pgsphere-setup: removed the obsolete smoc compatibility operators from {p}')
PY
  fi
done
