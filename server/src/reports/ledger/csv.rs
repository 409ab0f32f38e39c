//! The ledger as CSV: UTF-8 with a byte-order mark (so Excel and WPS open it as UTF-8), RFC 4180
//! quoting, one header line, dates as YYYY-MM-DD; people's text neutralised ([`cell_text`]).

use super::{HEADERS, Renderer, Written, cell_text, io_error};
use crate::domain::reports::ledger::LedgerRow;
use crate::error::AppError;
use std::io::Write;

pub struct Csv<W: Write> {
    out: ::csv::Writer<W>,
    rows: u64,
}

impl<W: Write> Csv<W> {
    pub fn new(mut out: W) -> Result<Self, AppError> {
        out.write_all("\u{feff}".as_bytes()).map_err(io_error)?;
        let mut out = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .from_writer(out);
        out.write_record(HEADERS).map_err(io_error)?;
        Ok(Self { out, rows: 0 })
    }
}

pub fn date(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

impl<W: Write> Renderer for Csv<W> {
    fn rows(&mut self, rows: &[LedgerRow]) -> Result<(), AppError> {
        for r in rows {
            self.out
                .write_record([
                    r.seq.to_string().as_str(),
                    &r.ledger_no,
                    &cell_text(&r.title),
                    &cell_text(&r.description),
                    &cell_text(&r.category),
                    &cell_text(&r.place),
                    &cell_text(r.address.as_deref().unwrap_or("")),
                    &cell_text(&r.responsible_unit),
                    &cell_text(&r.responsible_person),
                    &cell_text(&r.target),
                    &date(r.deadline),
                    r.state,
                    if r.overdue { "是" } else { "否" },
                    &r.days_overdue.to_string(),
                    r.escalation,
                    &r.reopen_count.to_string(),
                    &date(Some(r.reported_on)),
                    &date(r.closed_on),
                    r.light_zh,
                ])
                .map_err(io_error)?;
        }
        self.rows += rows.len() as u64;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Written, AppError> {
        self.out.flush().map_err(io_error)?;
        Ok(Written {
            rows: self.rows,
            without_location: 0,
        })
    }
}
