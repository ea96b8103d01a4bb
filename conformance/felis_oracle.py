"""Felis itself (PyPI lsst-felis, `felis validate`) as the oracle of `vogate schema check`.

Usage: python felis_oracle.py VOGATE_BINARY CORPUS_DIR

Both judge every schema of the corpus (valid files, invalid/ and the incomplete ObsCore
template) and mutated copies of valid files (one rule broken, or a harmless change, per
copy); their verdicts (valid or invalid) must agree. vogate always refuses duplicate
`tap:table_index` values, which Felis refuses only with --check-tap-table-indexes, so for Felis
a schema is invalid when `felis validate` fails or when that check reports a duplicate.
Felis also checks units with astropy's unit grammar, which vogate does not yet: no mutation
here breaks units (a documented gap). UCDs are checked by both against the UCD1+ vocabulary.
Prints one line per disagreement and a summary "N passed, M failed"; exits 1 on any.
"""

import copy
import os
import subprocess
import sys
import tempfile

import yaml
from felis.datamodel import Schema


def felis_valid(path):
    try:
        Schema.from_uri(path, context={"id_generation": True})
    except Exception as e:  # felis raises TypeError etc. besides ValidationError
        return False, str(e).splitlines()[0][:120]
    try:
        Schema.from_uri(path, context={"id_generation": True, "check_tap_table_indexes": True})
    except Exception as e:
        if "Duplicate 'tap:table_index'" in str(e):
            return False, "duplicate tap:table_index"
    return True, ""


def vogate_verdicts(binary, paths):
    out = subprocess.run([binary, "schema", "check", *paths], capture_output=True, text=True)
    verdicts = {}
    for line in out.stdout.splitlines():
        for p in paths:
            if line.startswith(p + ": "):
                verdicts[p] = line[len(p) + 2:].startswith("valid")
    missing = [p for p in paths if p not in verdicts]
    if missing:
        raise SystemExit(f"vogate printed no verdict for {missing}: {out.stdout}{out.stderr}")
    return verdicts


def columns(doc):
    for t in doc.get("tables", []):
        for c in t.get("columns", []):
            yield t, c


def first(doc, pred):
    for t, c in columns(doc):
        if pred(c):
            return t, c
    return None, None


def mutations(doc):
    """(name, mutated document) pairs; each breaks one rule or is harmless."""
    out = []

    def m(name, f):
        d = copy.deepcopy(doc)
        if f(d) is not False:
            out.append((name, d))

    def on_col(pred, g):
        def f(d):
            t, c = first(d, pred)
            if c is None:
                return False
            g(t, c, d)
        return f

    is_int = lambda c: c.get("datatype") in ("int", "long", "short")
    is_sized = lambda c: c.get("datatype") in ("string", "char", "unicode")
    is_double = lambda c: c.get("datatype") == "double"
    anyc = lambda c: True
    m("no datatype", on_col(anyc, lambda t, c, d: c.pop("datatype")))
    m("datatype float64", on_col(anyc, lambda t, c, d: c.update({"datatype": "float64"})))
    m("datatype varchar", on_col(anyc, lambda t, c, d: c.update({"datatype": "varchar"})))
    m("no length on a sized type", on_col(is_sized, lambda t, c, d: c.pop("length", None)))
    m("length 0", on_col(is_sized, lambda t, c, d: c.update({"length": 0})))
    m("length on an int (a warning only)", on_col(is_int, lambda t, c, d: c.update({"length": 8})))
    m("tap:principal 2", on_col(anyc, lambda t, c, d: c.update({"tap:principal": 2})))
    m("tap:std -1", on_col(anyc, lambda t, c, d: c.update({"tap:std": -1})))
    m("unknown column key", on_col(anyc, lambda t, c, d: c.update({"nulable": False})))
    m("unknown table key", lambda d: d["tables"][0].update({"colums": []}))
    m("unknown schema key", lambda d: d.update({"tabels": []}))
    m("python field name tap_principal", on_col(anyc, lambda t, c, d: c.update({"tap_principal": 1})))
    m("duplicate column name", lambda d: d["tables"][0]["columns"].append(
        {**copy.deepcopy(d["tables"][0]["columns"][0]), "@id": "#dupe.col"}))
    m("int default 'abc'", on_col(is_int, lambda t, c, d: c.update({"value": "abc"})))
    m("int default 5", on_col(is_int, lambda t, c, d: c.update({"value": 5})))
    m("double default 1.5", on_col(is_double, lambda t, c, d: c.update({"value": 1.5})))
    m("double default 2 (an int)", on_col(is_double, lambda t, c, d: c.update({"value": 2})))
    m("string default ''", on_col(is_sized, lambda t, c, d: c.update({"value": ""})))
    m("precision on a double", on_col(is_double, lambda t, c, d: c.update({"precision": 3})))
    m("nullable 'maybe'", on_col(anyc, lambda t, c, d: c.update({"nullable": "maybe"})))
    m("nullable false", on_col(anyc, lambda t, c, d: c.update({"nullable": False})))
    m("both units", on_col(anyc, lambda t, c, d: c.update({"ivoa:unit": "deg", "fits:tunit": "deg"})))
    m("tap:column_index 'x'", on_col(anyc, lambda t, c, d: c.update({"tap:column_index": "x"})))
    m("description as a list", on_col(anyc, lambda t, c, d: c.update({"description": ["a", "b"]})))
    m("name as a number", on_col(anyc, lambda t, c, d: c.update({"name": 12})))
    m("description changed", on_col(anyc, lambda t, c, d: c.update({"description": "changed"})))
    for ucd in ["foo.bar", "meta.main", "pos.eq.ra;meta.main", "POS.EQ.RA", "pos.eq.ra;arith.factor",
                "pos eq", "phot.flux;em.opt.R", "custom:word", "pos.eq.ra;custom:word", "meta.id;;meta.main"]:
        m(f"ivoa:ucd {ucd!r}", on_col(anyc, lambda t, c, d, u=ucd: c.update({"ivoa:ucd": u})))
    m("votable:arraysize as a list", on_col(anyc, lambda t, c, d: c.update({"votable:arraysize": [1]})))
    m("votable:datatype given", on_col(is_int, lambda t, c, d: c.update({"votable:datatype": "long"})))
    m("no table name", lambda d: d["tables"][0].pop("name"))
    m("no schema name", lambda d: d.pop("name"))
    m("no tables", lambda d: d.pop("tables"))
    m("duplicate table name", lambda d: d["tables"].append(
        {**copy.deepcopy(d["tables"][0]), "@id": "#dupe_table", "columns": []}))
    # Every table gets an index (Felis's check of duplicates also wants one on every table),
    # and the first two share theirs.
    m("tap:table_index duplicated", lambda d: False if len(d["tables"]) < 2 else
      [t.update({"tap:table_index": max(i, 1)}) for i, t in enumerate(d["tables"])])
    m("tap:table_index on every table", lambda d:
      [t.update({"tap:table_index": i + 1}) for i, t in enumerate(d["tables"])])
    m("tap:table_index 'x'", lambda d: d["tables"][0].update({"tap:table_index": "x"}))
    m("version mapping", lambda d: d.update({"version": {"current": "1.0", "compatible": ["0.9"]}}))
    m("version mapping without current", lambda d: d.update({"version": {"compatible": ["0.9"]}}))
    m("index with columns and expressions", lambda d: d["tables"][0].setdefault("indexes", []).append(
        {"name": "ix_both", "columns": ["#x"], "expressions": ["a + 1"]}))
    m("index with neither", lambda d: d["tables"][0].setdefault("indexes", []).append({"name": "ix_none"}))
    m("index on an expression", lambda d: d["tables"][0].setdefault("indexes", []).append(
        {"name": "ix_expr", "expressions": ["1 + 1"]}))

    def fk(cols, refs, **extra):
        def f(d):
            t = d["tables"][0]
            if not t.get("columns"):
                return False
            c = t["columns"][0]
            cid = c.get("@id", f"#{t['name']}.{c['name']}")
            t.setdefault("constraints", []).append({
                "name": "fk_mutation", "@type": "ForeignKey",
                "columns": [cid] * cols, "referencedColumns": [cid] * refs if refs else ["#nowhere.id"],
                **extra})
        return f

    m("foreign key to a missing column", fk(1, 0))
    m("foreign key with 1 column and 2 references", fk(1, 2))
    m("foreign key to itself", fk(1, 1))
    m("initially without deferrable", fk(1, 1, initially="DEFERRED"))
    m("deferrable and initially", fk(1, 1, deferrable=True, initially="DEFERRED"))
    m("on_delete 'EXPLODE'", fk(1, 1, on_delete="EXPLODE"))
    m("constraint of unknown @type", lambda d: d["tables"][0].setdefault("constraints", []).append(
        {"name": "c_bad", "@type": "Primary", "columns": ["#x"]}))
    m("check constraint", lambda d: d["tables"][0].setdefault("constraints", []).append(
        {"name": "c_check", "@type": "Check", "expression": "1 = 1"}))
    m("check constraint without expression", lambda d: d["tables"][0].setdefault("constraints", []).append(
        {"name": "c_check2", "@type": "Check"}))
    m("duplicate constraint names", lambda d: d["tables"][0].setdefault("constraints", []).extend(
        [{"name": "c_same", "@type": "Check", "expression": "1 = 1"},
         {"name": "c_same", "@type": "Check", "expression": "2 = 2", "@id": "#c_same_2"}]))
    m("duplicate column ids", lambda d: False if len(d["tables"][0].get("columns", [])) < 2 else
      [c.update({"@id": "#same.id"}) for c in d["tables"][0]["columns"][:2]])
    return out


def main():
    binary, corpus = sys.argv[1], sys.argv[2]
    valid = [
        "felis_tests/test_tap_schema.yaml", "felis_tests/sales.yaml",
        "felis_tests/test_composite_keys.yaml", "felis_tests/test.yml",
        "felis_tests/test_id_generation.yaml", "sdm_schemas/dp02_obscore.yaml",
        "sdm_schemas/obsloctap.yaml", "sdm_schemas/dp02_dc2.yaml",
    ]
    files = [os.path.join(corpus, f) for f in valid + [
        "sdm_schemas/ivoa_obscore.yaml", "sdm_schemas/oga_live_obscore.yaml",
        "sdm_schemas/drp_base.yaml", "sdm_schemas/apdb.yaml", "sdm_schemas/ap_extra.yaml",
        "sdm_schemas/ppdb.yaml", "felis_tests/test_tap_schema_nonstandard.yaml",
        "felis_tests/test_serialization.yaml", "felis_tests/test_diff1.yaml",
        "felis_tests/test_diff2.yaml", "felis_config/tap_schema_std.yaml",
        "sdm_schemas/ivoa_obscore_nominal.yaml"]]
    files += sorted(os.path.join(corpus, "invalid", f) for f in os.listdir(os.path.join(corpus, "invalid")))
    with tempfile.TemporaryDirectory() as tmp:
        labels = {f: os.path.relpath(f, corpus) for f in files}
        for v in valid:
            with open(os.path.join(corpus, v)) as fh:
                doc = yaml.safe_load(fh)
            for i, (name, d) in enumerate(mutations(doc)):
                p = os.path.join(tmp, f"{os.path.basename(v)}.{i:02d}.yaml")
                with open(p, "w") as fh:
                    yaml.safe_dump(d, fh, sort_keys=False)
                files.append(p)
                labels[p] = f"{v} + {name}"
        ours = vogate_verdicts(binary, files)
        passed = failed = 0
        for f in files:
            theirs, why = felis_valid(f)
            if theirs == ours[f]:
                passed += 1
            else:
                failed += 1
                print(f"DISAGREE {labels[f]}: felis {'valid' if theirs else 'invalid'} ({why}), "
                      f"vogate {'valid' if ours[f] else 'invalid'}")
        print(f"felis oracle: {len(files)} schemas ({len(files) - sum(1 for f in files if ' + ' not in labels[f])} mutated); "
              f"{passed} passed, {failed} failed")
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
