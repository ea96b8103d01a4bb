//! Exclusive use of a workdir by one `vogate serve`: before it writes anything, a server locks
//! `<workdir>/vogate.lock` (see [`vo_common::lockfile`]); its database is locked by the
//! backend ([`vo_tap::Backend::lock_for_serving`]: `<db>.lock` beside a SQLite file, a
//! session advisory lock on PostgreSQL). A second server on the same workdir or database is
//! refused with a message naming the holder, and changes nothing. The locks go with the
//! process: a server that dies leaves none behind.
//!
//! `vogate schema load` and `vogate load` take no lock: each writes in one transaction,
//! which is safe while a server runs ([`vo_tap::Backend::served_by`] lets them say that one
//! is serving the database).

use crate::settings::Settings;
use vo_common::lockfile::LockFile;
use vo_common::VoError;

/// Lock `<workdir>/vogate.lock` for `holder` (e.g. `vogate serve on 127.0.0.1:8080`),
/// creating the workdir when missing. Errors: a usage error naming the holder when another
/// process serves the workdir; an internal error when the file cannot be made.
pub fn lock_workdir(settings: &Settings, holder: &str) -> Result<LockFile, VoError> {
    LockFile::acquire(&settings.workdir.join("vogate.lock"), holder).map_err(|e| {
        e.into_vo_error(
            &format!("the workdir {}", settings.workdir.display()),
            "Stop that server, or give another --workdir (and --db)",
        )
    })
}
