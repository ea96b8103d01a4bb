"""The tables of the output-format checks (conformance/formats_e2e.sh), written into OUTDIR:

- types.yaml: the Felis schema `vogate_types` with two tables:
  - `alltypes`: one column of every Felis datatype but `binary` (which has no CSV form for
    `vogate load`), and an ICRS position (so COOSYS is written), ordered by
    `tap:column_index` (the position second) rather than as the file lists them;
  - `cadc_alldatatypes`: the columns of opencadc's alldatatypes fixture
    (SHARED/corpus/adql/opencadc-tap/cadc-test-tap/alldatatypes.xml, a VOSI table of TAP
    1.0 types), each TAP type as Felis says it: INTEGER int, BIGINT long, DOUBLE double,
    VARCHAR(n) string of length n, TIMESTAMP timestamp, CLOB text, and POINT and REGION as
    TAP 1.0 declared them: STC-S text with xtype adql:POINT or adql:REGION. The fixture's
    unit `per sq. deg` is written in VOUnits (`deg**-2`).
- alltypes.csv, cadc_alldatatypes.csv: rows with NULLs (empty fields), NaN and the
  infinities, empty strings (`""`, as `vogate load` reads them), non-ASCII text (within the BMP: BINARY2's unicodeChar is UCS-2), and characters
  each format must escape; alltypes-sqlite.csv is the same without NaN, which SQLite cannot
  store (it keeps NULL).

Usage: formats_fixture.py OUTDIR SHARED
"""

import sys
import xml.etree.ElementTree as ET

out, shared = sys.argv[1], sys.argv[2]


def column(table, name, datatype, description, **extra):
    c = {"name": name, "@id": f"#{table}.{name}", "datatype": datatype,
         "description": description}
    c.update(extra)
    return c


alltypes = [
    column("alltypes", "id", "long", "Row number", nullable=False,
           **{"ivoa:ucd": "meta.id;meta.main"}),
    column("alltypes", "t_boolean", "boolean", "a boolean"),
    column("alltypes", "t_byte", "byte", "an unsigned byte"),
    column("alltypes", "t_short", "short", "a 2-byte integer"),
    column("alltypes", "t_int", "int", "a 4-byte integer"),
    column("alltypes", "t_long", "long", "an 8-byte integer"),
    column("alltypes", "t_float", "float", "a 4-byte float", **{"ivoa:unit": "mag"}),
    column("alltypes", "t_double", "double", "an 8-byte float"),
    column("alltypes", "t_char", "char", "text of at most 8 ASCII characters", length=8),
    column("alltypes", "t_string", "string", "text of at most 32 characters", length=32),
    column("alltypes", "t_unicode", "unicode", "Unicode text of at most 32 characters",
           length=32),
    column("alltypes", "t_text", "text", "text of any length"),
    column("alltypes", "t_timestamp", "timestamp", "a date and time (UTC)"),
    column("alltypes", "ra", "double", "right ascension (ICRS)",
           **{"ivoa:unit": "deg", "ivoa:ucd": "pos.eq.ra;meta.main"}),
    column("alltypes", "dec", "double", "declination (ICRS)",
           **{"ivoa:unit": "deg", "ivoa:ucd": "pos.eq.dec;meta.main"}),
]

# tap:column_index puts the position after id (SELECT * and /tables follow it).
for i, name in enumerate(["id", "ra", "dec"] +
                         [c["name"] for c in alltypes if c["name"] not in ("id", "ra", "dec")]):
    next(c for c in alltypes if c["name"] == name)["tap:column_index"] = i + 1

TAP_TYPES = {"INTEGER": "int", "BIGINT": "long", "DOUBLE": "double", "VARCHAR": "string",
             "TIMESTAMP": "timestamp", "CLOB": "text", "POINT": "text", "REGION": "text"}
fixture = ET.parse(f"{shared}/corpus/adql/opencadc-tap/cadc-test-tap/alldatatypes.xml")
cadc = [column("cadc_alldatatypes", "id", "long", "Row number", nullable=False,
               **{"ivoa:ucd": "meta.id;meta.main"})]
for col in fixture.getroot().iter("column"):
    name = col.findtext("name").strip()
    dt = col.find("dataType")
    tap_type = dt.text.strip()
    extra = {}
    if dt.get("size"):
        extra["length"] = int(dt.get("size"))
    unit = col.findtext("unit")
    if unit:
        extra["ivoa:unit"] = {"per sq. deg": "deg**-2"}.get(unit, unit)
    if tap_type in ("POINT", "REGION"):
        extra["votable:xtype"] = "adql:" + tap_type
    cadc.append(column("cadc_alldatatypes", name, TAP_TYPES[tap_type],
                       (col.findtext("description") or name).strip(), **extra))


def csv_rows(path, header, rows):
    """RFC 4180 rows as `vogate load` reads them: None an empty field (NULL), text quoted
    (so "" is the empty string), numbers bare."""
    def field(v):
        if v is None:
            return ""
        if isinstance(v, (int, float)):
            return str(v)
        return '"' + v.replace('"', '""') + '"'
    with open(path, "w", newline="") as f:
        for r in [header] + rows:
            f.write(",".join(field(v) for v in r) + "\r\n")


def yaml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def table_yaml(name, description, columns):
    lines = [f"  - name: {name}", f'    "@id": "#{name}"',
             f"    description: {yaml_value(description)}",
             f'    primaryKey: "#{name}.id"', "    columns:"]
    for c in columns:
        first = True
        for k, v in c.items():
            key = f'"{k}"' if k.startswith("@") else k
            lines.append(("      - " if first else "        ") + f"{key}: {yaml_value(v)}")
            first = False
    return "\n".join(lines)


with open(f"{out}/types.yaml", "w") as f:
    f.write("---\nname: vogate_types\n\"@id\": \"#vogate_types\"\n"
            "description: Every datatype, for the output-format checks\ntables:\n")
    f.write(table_yaml("alltypes", "One column of every Felis datatype", alltypes) + "\n")
    f.write(table_yaml("cadc_alldatatypes", "The columns of opencadc's alldatatypes fixture",
                       cadc) + "\n")

# id, boolean, byte, short, int, long, float, double, char, string, unicode, text,
# timestamp, ra, dec
rows = [
    [1, "true", 7, -12, 100000, 9007199254740993, "14.098", "0.1", "abc", "plain ascii",
     "Ångström – α Cen, café", "ünïcödé text € ✓", "2024-02-29T23:59:59.5", "10.5", "-30.25"],
    [2] + [None] * 14,
    [3, "false", 0, 0, 0, 0, "NaN", "NaN", "", "", "", "", "1999-12-31", "359.999", "89.9"],
    [4, "false", 255, -32767, -2147483647, -9223372036854775807, "inf", "-inf", "x", "y",
     "z", "w", "2000-01-01T00:00:00", "0", "-89.9"],
    [5, "true", 1, 32767, 2147483647, 9223372036854775807, "-1.5e-38", "1e-300",
     "<&>'\"", 'a,b "c" <d> & e', "tab\there", "line\nbreak; semi;colon", "2020-06-01",
     "180", "0"],
    # Each integer type's smallest value: BINARY's NULL, which FITS must not take as one.
    [6, "true", 0, -32768, -2147483648, -9223372036854775808, "0", "0", "", "", "", "",
     "2020-06-02", "1", "1"],
]
header = [c["name"] for c in alltypes]
csv_rows(f"{out}/alltypes.csv", header, rows)
csv_rows(f"{out}/alltypes-sqlite.csv", header,
         [[None if v == "NaN" else v for v in r] for r in rows])

cadc_rows = [
    [1, 42, 1234567890123, "3.5", "a string", "2011-01-01T00:00:00.123", "a long text ∞",
     "POSITION ICRS 10 20", "CIRCLE ICRS 10 20 1", "POLYGON ICRS 10 10 11 10 11 11"],
    [2] + [None] * 9,
    [3, -1, -1, "-0.0", "", "1970-01-01", "", "POSITION ICRS 0 -90",
     "CIRCLE ICRS 359.5 89 2", "POLYGON ICRS 359 -1 1 -1 1 1 359 1"],
]
csv_rows(f"{out}/cadc_alldatatypes.csv", [c["name"] for c in cadc], cadc_rows)
print(f"wrote {out}/types.yaml and the rows of {len(rows)} + {len(cadc_rows)}")
