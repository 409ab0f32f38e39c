//! The ledger as an Excel workbook, as offices keep it: a title row naming the place and period,
//! Chinese headers, a frozen header row, column widths that fit, real date cells. Written in
//! rust_xlsxwriter's constant-memory mode (rows go to a temporary file as they come), so 100,000
//! issues take no more memory than 1,000; the file is zipped onto the writer at the end.

use super::{HEADERS, Renderer, Written, io_error};
use crate::domain::reports::ledger::{LedgerMeta, LedgerRow};
use crate::error::AppError;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};
use std::io::Write;

/// Column widths in characters, per header (Chinese characters count about two).
const WIDTHS: [f64; 19] = [
    6.0, 14.0, 28.0, 40.0, 14.0, 22.0, 22.0, 18.0, 10.0, 28.0, 12.0, 10.0, 9.0, 9.0, 9.0, 9.0,
    12.0, 12.0, 8.0,
];

/// Rows above the first issue: the title, the caption, the headers.
const FIRST_DATA_ROW: u32 = 3;

pub struct Xlsx<W: Write + Send> {
    book: Workbook,
    out: W,
    next_row: u32,
    text: Format,
    wrap: Format,
    date: Format,
    number: Format,
}

fn xlsx_error(e: XlsxError) -> AppError {
    io_error(e)
}

impl<W: Write + Send> Xlsx<W> {
    pub fn new(meta: &LedgerMeta, out: W) -> Result<Self, AppError> {
        let mut book = Workbook::new();
        let border = |f: Format| f.set_border(FormatBorder::Thin);
        let title = Format::new()
            .set_bold()
            .set_font_size(16)
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter);
        let caption = Format::new().set_align(FormatAlign::Left);
        let header = border(
            Format::new()
                .set_bold()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_text_wrap()
                .set_background_color(0xD9E1F2),
        );
        let sheet = book
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        sheet.set_name("整改台账").map_err(xlsx_error)?;
        for (col, width) in WIDTHS.iter().enumerate() {
            sheet
                .set_column_width(col as u16, *width)
                .map_err(xlsx_error)?;
        }
        let last_col = (HEADERS.len() - 1) as u16;
        sheet.set_row_height(0, 30).map_err(xlsx_error)?;
        sheet
            .merge_range(
                0,
                0,
                0,
                last_col,
                &format!("{}整改台账", meta.scope),
                &title,
            )
            .map_err(xlsx_error)?;
        sheet
            .merge_range(
                1,
                0,
                1,
                last_col,
                &format!(
                    "统计期间：{}　　导出日期：{}　　共 {} 条",
                    meta.period,
                    meta.as_of.format("%Y年%m月%d日"),
                    meta.total
                ),
                &caption,
            )
            .map_err(xlsx_error)?;
        for (col, name) in HEADERS.iter().enumerate() {
            sheet
                .write_string_with_format(2, col as u16, *name, &header)
                .map_err(xlsx_error)?;
        }
        sheet
            .set_freeze_panes(FIRST_DATA_ROW, 0)
            .map_err(xlsx_error)?;
        Ok(Self {
            book,
            out,
            next_row: FIRST_DATA_ROW,
            text: border(Format::new().set_align(FormatAlign::VerticalCenter)),
            wrap: border(
                Format::new()
                    .set_text_wrap()
                    .set_align(FormatAlign::VerticalCenter),
            ),
            date: border(
                Format::new()
                    .set_num_format("yyyy-mm-dd")
                    .set_align(FormatAlign::Center),
            ),
            number: border(Format::new().set_align(FormatAlign::Center)),
        })
    }

    fn sheet(&mut self) -> Result<&mut Worksheet, AppError> {
        self.book.worksheet_from_index(0).map_err(xlsx_error)
    }
}

impl<W: Write + Send> Renderer for Xlsx<W> {
    fn rows(&mut self, rows: &[LedgerRow]) -> Result<(), AppError> {
        let (text, wrap, date, number) = (
            self.text.clone(),
            self.wrap.clone(),
            self.date.clone(),
            self.number.clone(),
        );
        let mut row_no = self.next_row;
        let sheet = self.sheet()?;
        for r in rows {
            let row = row_no;
            let s = |sheet: &mut Worksheet, col: u16, v: &str, f: &Format| {
                sheet
                    .write_string_with_format(row, col, super::cell_text(v), f)
                    .map(|_| ())
            };
            let n = |sheet: &mut Worksheet, col: u16, v: f64| {
                sheet
                    .write_number_with_format(row, col, v, &number)
                    .map(|_| ())
            };
            let d = |sheet: &mut Worksheet, col: u16, v: Option<chrono::NaiveDate>| match v {
                Some(v) => sheet.write_date_with_format(row, col, v, &date).map(|_| ()),
                None => sheet.write_blank(row, col, &date).map(|_| ()),
            };
            (|| -> Result<(), XlsxError> {
                n(sheet, 0, r.seq as f64)?;
                s(sheet, 1, &r.ledger_no, &text)?;
                s(sheet, 2, &r.title, &wrap)?;
                s(sheet, 3, &r.description, &wrap)?;
                s(sheet, 4, &r.category, &text)?;
                s(sheet, 5, &r.place, &text)?;
                s(sheet, 6, r.address.as_deref().unwrap_or(""), &wrap)?;
                s(sheet, 7, &r.responsible_unit, &text)?;
                s(sheet, 8, &r.responsible_person, &text)?;
                s(sheet, 9, &r.target, &wrap)?;
                d(sheet, 10, r.deadline)?;
                s(sheet, 11, r.state, &text)?;
                s(sheet, 12, if r.overdue { "是" } else { "否" }, &number)?;
                n(sheet, 13, r.days_overdue as f64)?;
                s(sheet, 14, r.escalation, &number)?;
                n(sheet, 15, f64::from(r.reopen_count))?;
                d(sheet, 16, Some(r.reported_on))?;
                d(sheet, 17, r.closed_on)?;
                s(sheet, 18, r.light_zh, &number)
            })()
            .map_err(xlsx_error)?;
            row_no += 1;
        }
        self.next_row = row_no;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Written, AppError> {
        let rows = u64::from(self.next_row - FIRST_DATA_ROW);
        self.book
            .save_to_writer(&mut self.out)
            .map_err(xlsx_error)?;
        self.out.flush().map_err(io_error)?;
        Ok(Written {
            rows,
            without_location: 0,
        })
    }
}
