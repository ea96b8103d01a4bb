//! vo-felis: Rubin's Felis YAML schema language (the `felis` tool's data model) read into a
//! schema model that drives the DDL and the TAP_SCHEMA 1.1 rows (TAP 1.1 §4) of the tables it
//! describes. Planned: see the Felis issue; nothing is implemented yet.
