//! Typed columns, in one place for both databases: the domain's values (pool, app, connection and
//! attempt ids, origins, the delivery mode) are written as their text and read back through their
//! own `parse` (rusqlite `ToSql`/`FromSql`, sqlx `Type`/`Encode`/`Decode`), and [`Cols`] reads a
//! row of either database by column name. A stored value its type refuses (a row changed outside
//! milogin) is [`StoreError::Corrupt`], naming the table, the column and the rule it breaks; any
//! other failure to read a column (a type or a NULL the code does not expect: code and schema
//! disagree) stays the database's own error.

use super::StoreError;
use crate::domain::mode::Mode;
use crate::domain::{AppId, AttemptId, Origin, PoolId, UniqueId};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef, Postgres};
use sqlx::{encode::IsNull, error::BoxDynError, Decode, Encode, Type};

/// A domain value kept in a text column: its text, and the parse that reads it back.
trait Text: Sized {
    /// The stored text.
    fn text(&self) -> &str;
    /// Parses stored text; the error says what the value is not.
    fn read(s: &str) -> Result<Self, String>;
}

/// The error of a [`Text::read`] as it travels through rusqlite and sqlx: the mark that a value
/// was refused by our own check (and so was not written by milogin), not by the driver.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The [`Refused`] inside a driver's error source, if that is what it is.
fn refused(source: &(dyn std::error::Error + Send + Sync + 'static)) -> Option<String> {
    source.downcast_ref::<Refused>().map(|r| r.0.clone())
}

/// A stored value as an error shows it: quoted, and cut to 64 characters.
fn shown(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((end, _)) => format!("{:?}…", &s[..end]),
        None => format!("{s:?}"),
    }
}

macro_rules! id_text {
    ($($t:ty: $what:literal),* $(,)?) => {$(
        impl Text for $t {
            fn text(&self) -> &str {
                self.as_str()
            }
            fn read(s: &str) -> Result<Self, String> {
                <$t>::parse(s).map_err(|e| format!("{}, which is not {}: it {e}", shown(s), $what))
            }
        }
    )*};
}

id_text!(PoolId: "a pool id", AppId: "an app id", UniqueId: "a connection Unique ID", AttemptId: "an attempt id");

impl Text for Origin {
    fn text(&self) -> &str {
        self.as_str()
    }
    fn read(s: &str) -> Result<Self, String> {
        // Written in its normal form: anything else did not come from milogin.
        match Origin::parse(s) {
            Ok(o) if o.as_str() == s => Ok(o),
            Ok(_) => Err(format!(
                "{}, which is not an origin in its normal form",
                shown(s)
            )),
            Err(e) => Err(format!("{}, which is not an origin: it {e}", shown(s))),
        }
    }
}

impl Text for Mode {
    fn text(&self) -> &str {
        self.as_str()
    }
    fn read(s: &str) -> Result<Self, String> {
        Mode::from_stored(s).ok_or_else(|| {
            format!(
                "{}, which is not a delivery mode (popup, redirect or oidc)",
                shown(s)
            )
        })
    }
}

/// rusqlite and sqlx (PostgreSQL `TEXT`) conversions of each [`Text`] type.
macro_rules! text_columns {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.text()))
            }
        }

        impl FromSql for $t {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                <$t as Text>::read(v.as_str()?).map_err(|e| FromSqlError::Other(Box::new(Refused(e))))
            }
        }

        impl Type<Postgres> for $t {
            fn type_info() -> PgTypeInfo {
                <&str as Type<Postgres>>::type_info()
            }
            fn compatible(ty: &PgTypeInfo) -> bool {
                <&str as Type<Postgres>>::compatible(ty)
            }
        }

        impl Encode<'_, Postgres> for $t {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Postgres>>::encode(self.text(), buf)
            }
        }

        impl<'r> Decode<'r, Postgres> for $t {
            fn decode(v: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(<$t as Text>::read(<&str as Decode<Postgres>>::decode(v)?).map_err(Refused)?)
            }
        }
    )*};
}

text_columns!(PoolId, AppId, UniqueId, AttemptId, Origin, Mode);

/// What a column can be read as, on both databases.
pub(super) trait Cell: FromSql + for<'r> Decode<'r, Postgres> + Type<Postgres> {}

impl<T: FromSql + for<'r> Decode<'r, Postgres> + Type<Postgres>> Cell for T {}

/// A row of either database, read by column name.
pub(super) trait AnyRow {
    /// The value of `column`; a value its type refuses is [`StoreError::Corrupt`].
    fn cell<T: Cell>(&self, table: &'static str, column: &'static str) -> Result<T, StoreError>;
}

/// `e`, or [`StoreError::Corrupt`] when our own check refused the value (`why`).
fn corrupt_or(
    e: impl Into<StoreError>,
    why: Option<String>,
    table: &'static str,
    column: &'static str,
) -> StoreError {
    match why {
        Some(why) => StoreError::Corrupt { table, column, why },
        None => e.into(),
    }
}

/// A rusqlite read error as the store reports it.
fn from_sqlite(e: rusqlite::Error, table: &'static str, column: &'static str) -> StoreError {
    let why = match &e {
        rusqlite::Error::FromSqlConversionFailure(_, _, source) => refused(source.as_ref()),
        _ => None,
    };
    corrupt_or(e, why, table, column)
}

/// An sqlx read error as the store reports it.
fn from_pg(e: sqlx::Error, table: &'static str, column: &'static str) -> StoreError {
    let why = match &e {
        sqlx::Error::ColumnDecode { source, .. } => refused(source.as_ref()),
        _ => None,
    };
    corrupt_or(e, why, table, column)
}

impl AnyRow for rusqlite::Row<'_> {
    fn cell<T: Cell>(&self, table: &'static str, column: &'static str) -> Result<T, StoreError> {
        self.get(column).map_err(|e| from_sqlite(e, table, column))
    }
}

impl AnyRow for sqlx::postgres::PgRow {
    fn cell<T: Cell>(&self, table: &'static str, column: &'static str) -> Result<T, StoreError> {
        sqlx::Row::try_get(self, column).map_err(|e| from_pg(e, table, column))
    }
}

/// A row of `table`: what a record's `read` gets, so every refused value names its column.
pub(super) struct Cols<'r, R: ?Sized> {
    row: &'r R,
    table: &'static str,
}

impl<'r, R: AnyRow + ?Sized> Cols<'r, R> {
    /// Reads `row` as a row of `table`.
    pub(super) fn new(row: &'r R, table: &'static str) -> Self {
        Self { row, table }
    }

    /// The value of `column`.
    pub(super) fn get<T: Cell>(&self, column: &'static str) -> Result<T, StoreError> {
        self.row.cell(self.table, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQLite side on an in-memory database (the suite's store tests cover both databases).
    fn read_back<T: Cell + ToSql>(v: &T) -> Result<T, StoreError> {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("SELECT ?1 AS v").unwrap();
        let mut rows = stmt.query([v]).unwrap();
        let row = rows.next().unwrap().unwrap();
        Cols::new(row, "t").get("v")
    }

    fn refused<T: Cell>(stored: &str) -> String {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("SELECT ?1 AS v").unwrap();
        let mut rows = stmt.query([stored]).unwrap();
        let row = rows.next().unwrap().unwrap();
        match Cols::new(row, "attempts").get::<T>("v") {
            Err(e @ StoreError::Corrupt { .. }) => e.to_string(),
            other => panic!("{stored:?} read as {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn domain_values_round_trip_as_their_text() {
        let pool = PoolId::parse("Shop_2").unwrap();
        assert_eq!(read_back(&pool).unwrap(), pool);
        let origin = Origin::parse("https://shop.example.com").unwrap();
        assert_eq!(read_back(&Some(origin.clone())).unwrap(), Some(origin));
        assert_eq!(read_back::<Option<Origin>>(&None).unwrap(), None);
        for m in [Mode::Popup, Mode::Redirect, Mode::Oidc] {
            assert_eq!(read_back(&m).unwrap(), m);
        }
    }

    #[test]
    fn a_value_of_another_type_than_the_code_reads_is_the_databases_error_not_corrupt() {
        // A code/schema mismatch, not a row edited by hand: "correct or delete it" would mislead.
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("SELECT 7 AS v").unwrap();
        let mut rows = stmt.query([]).unwrap();
        let row = rows.next().unwrap().unwrap();
        let e = Cols::new(row, "t").get::<PoolId>("v").unwrap_err();
        assert!(matches!(e, StoreError::Sqlite(_)), "{e}");
        // PostgreSQL (no server needed: the error as sqlx builds it): a NULL or a type the code
        // does not expect is the database's error; only our own check's refusal is Corrupt.
        let decode = |source: sqlx::error::BoxDynError| sqlx::Error::ColumnDecode {
            index: "\"v\"".into(),
            source,
        };
        let not_ours: [sqlx::error::BoxDynError; 2] = [
            Box::new(sqlx::error::UnexpectedNullError),
            "mismatched types; Rust type `String` is not compatible with SQL type `INT8`".into(),
        ];
        for source in not_ours {
            let e = from_pg(decode(source), "t", "v");
            assert!(matches!(e, StoreError::Db(_)), "{e}");
        }
        let ours = from_pg(decode(Box::new(Refused("\"x y\", which".into()))), "t", "v");
        assert!(matches!(ours, StoreError::Corrupt { .. }), "{ours}");
    }

    #[test]
    fn a_refused_value_names_its_table_column_and_rule() {
        let e = refused::<Mode>("sideways");
        assert!(e.contains("attempts.v"), "{e}");
        assert!(
            e.contains("\"sideways\", which is not a delivery mode"),
            "{e}"
        );
        let e = refused::<PoolId>("a b");
        assert!(e.contains("not a pool id: it contains ' '"), "{e}");
        let e = refused::<UniqueId>("");
        assert!(e.contains("it is empty"), "{e}");
        // Parsable but not as milogin writes it.
        let e = refused::<Origin>("HTTPS://Shop.example.com");
        assert!(e.contains("not an origin in its normal form"), "{e}");
        let long = refused::<AttemptId>(&"=".repeat(500));
        assert!(long.len() < 300, "a stored value is cut: {long}");
    }
}
