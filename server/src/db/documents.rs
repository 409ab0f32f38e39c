//! Official documents (公文) and their numbers (文号): one counter per issuing office and year,
//! bumped in the transaction that records the document (see `ledger_numbers` for why that makes
//! numbers unique and gap-free on both backends).

use super::connection::DbConnection;
use super::schema::official_documents;
use crate::ids::{OrgUnitId, UserId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = official_documents)]
pub struct DocumentRow {
    pub id: String,
    /// `notice` or `bulletin`.
    pub kind: String,
    /// What the document is about: the issue id of a notice, `place|from|to` of a bulletin.
    pub subject: String,
    pub office_id: OrgUnitId,
    pub year: i32,
    pub seq: i32,
    /// As printed: `建督办〔2026〕12号`.
    pub number: String,
    pub issued_on: NaiveDate,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
}

pub fn find(
    conn: &mut DbConnection,
    kind: &str,
    subject: &str,
) -> QueryResult<Option<DocumentRow>> {
    official_documents::table
        .filter(official_documents::kind.eq(kind))
        .filter(official_documents::subject.eq(subject))
        .select(DocumentRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, row: &DocumentRow) -> QueryResult<()> {
    diesel::insert_into(official_documents::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

#[derive(QueryableByName)]
struct Next {
    #[diesel(sql_type = Integer)]
    last_value: i32,
}

/// The next document number of `office` in `year` (1, 2, 3, …). Must run inside a write
/// transaction.
pub fn next_number(conn: &mut DbConnection, office: &OrgUnitId, year: i32) -> QueryResult<i32> {
    let sql = match conn {
        DbConnection::Postgres(_) => {
            "INSERT INTO document_counters (office_id, year, last_value) VALUES ($1, $2, 1) \
             ON CONFLICT (office_id, year) DO UPDATE SET last_value = document_counters.last_value + 1 \
             RETURNING last_value"
        }
        DbConnection::Sqlite(_) => {
            "INSERT INTO document_counters (office_id, year, last_value) VALUES (?1, ?2, 1) \
             ON CONFLICT (office_id, year) DO UPDATE SET last_value = document_counters.last_value + 1 \
             RETURNING last_value"
        }
    };
    let next: Next = diesel::sql_query(sql)
        .bind::<Text, _>(office.as_str())
        .bind::<Integer, _>(year)
        .get_result(conn)?;
    Ok(next.last_value)
}
