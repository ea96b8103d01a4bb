//! Product files under the data root, by the obs_id ingest wrote (a path relative to the
//! root). The obs_id always comes from ivoa.ObsCore, never from a request; this is the defence
//! in depth that keeps even a bad row inside the tree.

use std::path::{Component, Path, PathBuf};

/// The file `relative` (an obs_id) under `root`, when `relative` is made of plain names only
/// (no root, no `..`, no `.`) and names a regular file (symbolic links followed); `None`
/// otherwise.
pub fn product_file(root: &Path, relative: &str) -> Option<PathBuf> {
    let rel = Path::new(relative);
    let plain = !relative.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
    let path = root.join(rel);
    (plain && path.is_file()).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_names_of_files_are_found() {
        let dir = std::env::temp_dir().join(format!("vogate-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).expect("dir");
        std::fs::write(dir.join("sub/a.fits"), b"x").expect("file");
        assert_eq!(
            product_file(&dir, "sub/a.fits"),
            Some(dir.join("sub/a.fits"))
        );
        for bad in [
            "",
            "sub",
            "../sub/a.fits",
            "/etc/passwd",
            "./sub/a.fits",
            "sub/../sub/a.fits",
            "nope.fits",
        ] {
            assert_eq!(product_file(&dir, bad), None, "{bad}");
        }
        std::fs::remove_dir_all(&dir).expect("clean");
    }
}
