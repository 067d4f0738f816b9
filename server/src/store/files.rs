//! The SQLite database on disk holds per-pool ES256 private keys, password hashes, emails and
//! phones, so only its owner may read it: milogin creates missing folders 0700 and the file 0600
//! (SQLite gives its `-wal` and `-shm` files the database file's mode), and [`warnings`] names
//! an existing file or folder that other users can open, with the `chmod` that fixes it.
//!
//! Modes are a Unix notion; elsewhere nothing is created differently and nothing is reported.

use std::path::{Path, PathBuf};

pub use crate::domain::sqlite_url::{sqlite_target, SqliteTarget};

/// The file behind a SQLite URL; `None` for PostgreSQL, in-memory databases and bad URLs.
fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    match sqlite_target(database_url) {
        Ok(SqliteTarget::File(f)) => Some(f),
        _ => None,
    }
}

/// Creates the database's missing folders (0700) and the empty file (0600) before SQLite
/// opens it; SQLite would create them 0755/0644 (minus the umask). Existing ones are left as
/// they are ([`warnings`] reports them).
pub(super) fn prepare(database_url: &str) -> std::io::Result<()> {
    let Some(file) = sqlite_file(database_url) else {
        return Ok(());
    };
    if let Some(folder) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut dirs = std::fs::DirBuilder::new();
        dirs.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dirs, 0o700);
        dirs.create(folder)?;
    }
    let mut new = std::fs::OpenOptions::new();
    new.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut new, 0o600);
    match new.open(&file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// One line per database file (with its `-wal`/`-shm`) or folder that users other than the
/// owner may access, naming the path, its mode and the fix. The folder is the file's own; a
/// database named without a folder (in the working directory) has its file checked only.
pub fn warnings(database_url: &str) -> Vec<String> {
    let Some(file) = sqlite_file(database_url) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(folder) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Some(mode) = open_to_others(folder) {
            out.push(format!(
                "the database folder {} has mode {mode:04o}: other users can reach the database in it; fix: chmod 700 {}",
                folder.display(),
                folder.display()
            ));
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.clone().into_os_string();
        name.push(suffix);
        let path = PathBuf::from(name);
        if let Some(mode) = open_to_others(&path) {
            out.push(format!(
                "the database file {} has mode {mode:04o}: other users can read its signing keys, password hashes, emails and phones; fix: chmod 600 {}",
                path.display(),
                path.display()
            ));
        }
    }
    out
}

/// The permission bits of `path` when its group or others have any access.
#[cfg(unix)]
fn open_to_others(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn open_to_others(_: &Path) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sqlite_files_have_a_path() {
        assert_eq!(
            sqlite_file("sqlite://data/milogin.db"),
            Some(PathBuf::from("data/milogin.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }
}
