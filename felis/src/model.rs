//! The Felis data model (Rubin's `felis` tool, `felis.datamodel`): a schema of tables of
//! columns, with constraints and indexes, annotated for TAP (`tap:`), VOTable (`votable:`),
//! IVOA (`ivoa:`), FITS (`fits:`) and database dialects (`mysql:`, `postgresql:`).

/// A place in a source file: 1-based line (0 when unknown) and the path of the object, such as
/// `tables[3].columns[7]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Located {
    /// The file, as given.
    pub file: String,
    /// 1-based line of the object's first character, 0 when unknown.
    pub line: usize,
    /// The path of the object in the document (`tables[3].columns[7]`).
    pub path: String,
}

/// The Felis datatypes (`felis.datamodel.DataType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    /// `boolean`.
    Boolean,
    /// `byte`: 8-bit integer (VOTable unsignedByte).
    Byte,
    /// `short`: 16-bit integer.
    Short,
    /// `int`: 32-bit integer.
    Int,
    /// `long`: 64-bit integer.
    Long,
    /// `float`: 32-bit IEEE float.
    Float,
    /// `double`: 64-bit IEEE float.
    Double,
    /// `char`: fixed-length ASCII text of `length`.
    Char,
    /// `string`: variable-length ASCII text of at most `length`.
    String,
    /// `unicode`: variable-length Unicode text of at most `length`.
    Unicode,
    /// `text`: unbounded text.
    Text,
    /// `binary`: bytes, at most `length`.
    Binary,
    /// `timestamp`: date and time (`precision` fractional digits of seconds).
    Timestamp,
}

impl DataType {
    /// The type of a Felis datatype name, or `None`.
    pub fn parse(name: &str) -> Option<DataType> {
        Some(match name {
            "boolean" => DataType::Boolean,
            "byte" => DataType::Byte,
            "short" => DataType::Short,
            "int" => DataType::Int,
            "long" => DataType::Long,
            "float" => DataType::Float,
            "double" => DataType::Double,
            "char" => DataType::Char,
            "string" => DataType::String,
            "unicode" => DataType::Unicode,
            "text" => DataType::Text,
            "binary" => DataType::Binary,
            "timestamp" => DataType::Timestamp,
            _ => return None,
        })
    }

    /// The Felis name.
    pub fn name(self) -> &'static str {
        match self {
            DataType::Boolean => "boolean",
            DataType::Byte => "byte",
            DataType::Short => "short",
            DataType::Int => "int",
            DataType::Long => "long",
            DataType::Float => "float",
            DataType::Double => "double",
            DataType::Char => "char",
            DataType::String => "string",
            DataType::Unicode => "unicode",
            DataType::Text => "text",
            DataType::Binary => "binary",
            DataType::Timestamp => "timestamp",
        }
    }

    /// The VOTable datatype Felis writes to TAP_SCHEMA (`felis.types`: byte and binary are
    /// unsignedByte, string/text/timestamp char, unicode unicodeChar).
    pub fn votable(self) -> &'static str {
        match self {
            DataType::Boolean => "boolean",
            DataType::Byte | DataType::Binary => "unsignedByte",
            DataType::Short => "short",
            DataType::Int => "int",
            DataType::Long => "long",
            DataType::Float => "float",
            DataType::Double => "double",
            DataType::Char | DataType::String | DataType::Text | DataType::Timestamp => "char",
            DataType::Unicode => "unicodeChar",
        }
    }

    /// Whether the type needs a `length` (char, string, unicode, binary).
    pub fn is_sized(self) -> bool {
        matches!(
            self,
            DataType::Char | DataType::String | DataType::Unicode | DataType::Binary
        )
    }

    /// Whether the type is an integer.
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            DataType::Byte | DataType::Short | DataType::Int | DataType::Long
        )
    }
}

/// A scalar value as written in YAML (for `value:` defaults).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// An integer.
    Int(i64),
    /// A decimal number.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// Text.
    Text(String),
}

/// One column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Name in the database and in TAP_SCHEMA.
    pub name: String,
    /// `@id` (generated as `#table.column` when absent).
    pub id: String,
    /// `description`.
    pub description: Option<String>,
    /// `votable:utype`.
    pub utype: Option<String>,
    /// `datatype`.
    pub datatype: DataType,
    /// `length` (> 0), for sized types.
    pub length: Option<i64>,
    /// `precision` (>= 0), for timestamps.
    pub precision: Option<i64>,
    /// `nullable` (default true).
    pub nullable: bool,
    /// `value`: the default value.
    pub value: Option<Scalar>,
    /// `autoincrement`.
    pub autoincrement: Option<bool>,
    /// `ivoa:ucd`.
    pub ucd: Option<String>,
    /// `ivoa:unit` or `fits:tunit` (at most one may be given).
    pub unit: Option<String>,
    /// `tap:column_index`.
    pub tap_column_index: Option<i64>,
    /// `tap:principal` (0 or 1; default 0).
    pub tap_principal: i64,
    /// `tap:std` (0 or 1; default 0).
    pub tap_std: i64,
    /// `votable:arraysize`, or Felis's default from datatype and length.
    pub arraysize: Option<String>,
    /// `votable:xtype` (`timestamp` by default for timestamps).
    pub xtype: Option<String>,
    /// `votable:datatype`: a VOTable datatype that overrides the one of `datatype`.
    pub votable_datatype: Option<String>,
    /// `mysql:datatype`.
    pub mysql_datatype: Option<String>,
    /// `postgresql:datatype`.
    pub postgresql_datatype: Option<String>,
    /// Where it was written.
    pub at: Located,
}

/// The kind of a table constraint.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstraintKind {
    /// `@type: ForeignKey`: `columns` of this table reference `referenced` (column ids).
    ForeignKey {
        /// Column ids in this table.
        columns: Vec<String>,
        /// Column ids in the target table.
        referenced: Vec<String>,
    },
    /// `@type: Unique` over column ids.
    Unique {
        /// Column ids.
        columns: Vec<String>,
    },
    /// `@type: Check` with an SQL expression.
    Check {
        /// The SQL boolean expression.
        expression: String,
    },
}

/// A table constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    /// Name (the TAP_SCHEMA key_id of a foreign key).
    pub name: String,
    /// `@id`.
    pub id: String,
    /// `description`.
    pub description: Option<String>,
    /// `votable:utype`.
    pub utype: Option<String>,
    /// What it constrains.
    pub kind: ConstraintKind,
    /// Where it was written.
    pub at: Located,
}

/// A table index.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    /// Name.
    pub name: String,
    /// `@id`.
    pub id: String,
    /// `description`.
    pub description: Option<String>,
    /// Column ids (or else `expressions`).
    pub columns: Vec<String>,
    /// SQL expressions.
    pub expressions: Vec<String>,
    /// Where it was written.
    pub at: Located,
}

/// A table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Name (published as `schema.name`).
    pub name: String,
    /// `@id` (generated as `#name` when absent).
    pub id: String,
    /// `description`.
    pub description: Option<String>,
    /// `votable:utype`.
    pub utype: Option<String>,
    /// `primaryKey`: column ids.
    pub primary_key: Vec<String>,
    /// Whether `primaryKey` was one id (Felis marks only such a column `indexed`).
    pub primary_key_single: bool,
    /// `tap:table_index`.
    pub tap_table_index: Option<i64>,
    /// The columns, including those brought in by `columnRefs`.
    pub columns: Vec<Column>,
    /// `constraints`.
    pub constraints: Vec<Constraint>,
    /// `indexes`.
    pub indexes: Vec<Index>,
    /// Where it was written.
    pub at: Located,
}

impl Table {
    /// The column with this `@id`.
    pub fn column_by_id(&self, id: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.id == id)
    }
}

/// A schema: the unit published in TAP_SCHEMA.schemas.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// Name (the TAP schema name).
    pub name: String,
    /// `@id`.
    pub id: String,
    /// `description`.
    pub description: Option<String>,
    /// `votable:utype`.
    pub utype: Option<String>,
    /// `version` (its `current` when given as a mapping).
    pub version: Option<String>,
    /// The tables.
    pub tables: Vec<Table>,
    /// Where it was written (the file).
    pub at: Located,
}

impl Schema {
    /// The table holding the column with this `@id`, and the column.
    pub fn column_by_id(&self, id: &str) -> Option<(&Table, &Column)> {
        self.tables
            .iter()
            .find_map(|t| t.column_by_id(id).map(|c| (t, c)))
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}
