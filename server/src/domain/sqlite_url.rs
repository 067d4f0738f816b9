//! The SQLite form of `server.database_url`, read in one place for the configuration check and
//! the store.

use std::path::PathBuf;

/// Where a SQLite URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteTarget {
    /// `sqlite::memory:`: a database that lives as long as the process (tests).
    Memory,
    /// A file (relative paths are relative to the working directory; the configuration resolves
    /// them against its own folder first).
    File(PathBuf),
}

/// Reads `sqlite://path`, `sqlite:path` (the path percent-decoded) or `sqlite::memory:`. The one
/// option accepted is `?mode=rwc` (what milogin does anyway: read, write, create), for URLs
/// written for earlier versions; anything else is refused with what to write instead.
pub fn sqlite_target(database_url: &str) -> Result<SqliteTarget, String> {
    let rest = database_url
        .strip_prefix("sqlite:")
        .ok_or_else(|| format!("{database_url:?} is not a sqlite: URL"))?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !query.is_empty() && query != "mode=rwc" {
        return Err(format!(
            "{database_url:?}: SQLite URL options ({query:?}) are not supported; write sqlite://path/to/milogin.db"
        ));
    }
    match path {
        ":memory:" => Ok(SqliteTarget::Memory),
        "" => Err(format!(
            "{database_url:?} names no file; write sqlite://path/to/milogin.db"
        )),
        // Percent-decoded, as earlier versions (sqlx) read it: `%20` is a space, `%3F` a `?`.
        p => percent_encoding::percent_decode_str(p)
            .decode_utf8()
            .map(|p| SqliteTarget::File(PathBuf::from(&*p)))
            .map_err(|_| {
                format!("{database_url:?}: the path's %-escapes are not UTF-8; write the file's path as it is")
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_a_file_or_memory_and_refuse_options() {
        let file = |p: &str| Ok(SqliteTarget::File(PathBuf::from(p)));
        assert_eq!(
            sqlite_target("sqlite:///var/lib/m.db"),
            file("/var/lib/m.db")
        );
        assert_eq!(sqlite_target("sqlite:rel.db"), file("rel.db"));
        assert_eq!(sqlite_target("sqlite://rel.db?mode=rwc"), file("rel.db"));
        assert_eq!(sqlite_target("sqlite::memory:"), Ok(SqliteTarget::Memory));
        let e = sqlite_target("sqlite://m.db?cache=shared").unwrap_err();
        assert!(
            e.contains("not supported") && e.contains("sqlite://path/to/milogin.db"),
            "{e}"
        );
        assert!(sqlite_target("sqlite://")
            .unwrap_err()
            .contains("names no file"));
    }

    #[test]
    fn a_percent_encoded_path_is_decoded_as_earlier_versions_did() {
        // sqlx decoded the path: a URL written for it must open the same file, not a new one.
        assert_eq!(
            sqlite_target("sqlite:///srv/my%20data/m%3F.db"),
            Ok(SqliteTarget::File(PathBuf::from("/srv/my data/m?.db")))
        );
        let e = sqlite_target("sqlite:///srv/%FF.db").unwrap_err();
        assert!(e.contains("UTF-8") && e.contains("%FF"), "{e}");
    }
}
