//! Exclusive lock files: one process at a time holds `path` (an advisory `flock` through
//! `std::fs::File::try_lock`, released when the process ends however it ends, so no stale
//! lock survives a crash), and writes who it is into the file so that another process can
//! say who holds it.

use crate::VoError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// A held lock file; released when dropped.
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
    _file: File,
}

/// Why [`LockFile::acquire`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockError {
    /// Another process holds it: who, as it wrote (`pid 4242 (vogate serve on ...)`).
    Held(String),
    /// The file cannot be made or locked (the message says why).
    Io(String),
}

impl LockFile {
    /// Lock `path` (created, with its folder, when missing) for `holder`, a description
    /// such as `vogate serve on 127.0.0.1:8080`. The file's content is replaced only once
    /// the lock is held, so a refused caller changes nothing.
    pub fn acquire(path: &Path, holder: &str) -> Result<LockFile, LockError> {
        let io = |what: &str, e: std::io::Error| {
            LockError::Io(format!("cannot {what} {}: {e}", path.display()))
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io("create the folder of", e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| io("open", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LockError::Held(describe(&read_all(&mut file))))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", e)),
        }
        let note = format!("pid={}\nholder={holder}\n", std::process::id());
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(note.as_bytes()))
            .map_err(|e| io("write", e))?;
        Ok(LockFile {
            path: path.to_path_buf(),
            _file: file,
        })
    }

    /// Who holds `path` now, if anyone does (`None` also when the file does not exist).
    pub fn holder(path: &Path) -> Option<String> {
        let mut file = OpenOptions::new().read(true).open(path).ok()?;
        match file.try_lock_shared() {
            Ok(()) => None,
            Err(std::fs::TryLockError::WouldBlock) => Some(describe(&read_all(&mut file))),
            Err(std::fs::TryLockError::Error(_)) => None,
        }
    }

    /// The locked file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl LockError {
    /// The error for a user: `<what> is in use by <holder>; nothing was changed. <advice>`
    /// (a usage error), or an internal one for I/O failures.
    pub fn into_vo_error(self, what: &str, advice: &str) -> VoError {
        match self {
            LockError::Held(who) => VoError::usage(format!(
                "{what} is in use by {who}; nothing was changed. {advice}"
            )),
            LockError::Io(m) => VoError::internal(m),
        }
    }
}

fn read_all(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
    text
}

/// `pid 123 (holder)` from a lock file's content.
fn describe(content: &str) -> String {
    let field = |key: &str| {
        content
            .lines()
            .find_map(|l| l.strip_prefix(key).map(str::to_string))
    };
    match (field("pid="), field("holder=")) {
        (Some(pid), Some(h)) => format!("pid {pid} ({h})"),
        (Some(pid), None) => format!("pid {pid}"),
        _ => "another process".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holder_and_changes_nothing() {
        let dir = std::env::temp_dir().join(format!("vo-lockfile-{}", std::process::id()));
        let path = dir.join("sub/x.lock");
        let held = LockFile::acquire(&path, "test one").expect("first");
        let content = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            content,
            format!("pid={}\nholder=test one\n", std::process::id())
        );
        // flock locks belong to open files: a second open in this process conflicts too.
        let second = LockFile::acquire(&path, "test two").expect_err("second");
        assert_eq!(
            second,
            LockError::Held(format!("pid {} (test one)", std::process::id()))
        );
        assert_eq!(std::fs::read_to_string(&path).expect("read"), content);
        assert_eq!(
            LockFile::holder(&path),
            Some(format!("pid {} (test one)", std::process::id()))
        );
        drop(held);
        assert_eq!(LockFile::holder(&path), None);
        let again = LockFile::acquire(&path, "test three").expect("after release");
        assert_eq!(again.path(), path.as_path());
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(LockFile::holder(&path), None, "no file, no holder");
    }
}
