//! The parts GB/T 9704 gives an official document, for the printable HTML pages: the 版头
//! (发文机关标志 in red, 发文字号, the red separator), the 落款 (发文机关署名, 成文日期, room for
//! the seal) and the 版记 (印发机关, 印发日期). The DOCX forms are in `reports::docx`.

use super::html::escape;
use crate::domain::documents::Official;

/// `2026年12月1日`: 成文日期 in Arabic numerals without leading zeros, as GB/T 9704-2012 asks.
pub fn date_zh(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// Styles of the parts below, for a page's `<style>`.
pub const CSS: &str = r#"
  .gw-office { text-align: center; color: #c00; font-size: 26pt; font-weight: bold; letter-spacing: 0.1em; margin: 0.2em 0 0.3em; }
  .gw-number { text-align: center; margin: 0; }
  .gw-rule { border: 0; border-top: 2px solid #c00; margin: 0.4em 0 1.2em; }
  .gw-sign { margin: 2em 0 0 auto; width: 16em; text-align: center; position: relative; }
  .gw-seal { height: 42mm; width: 42mm; margin: 0 auto -30mm; border: 1px dashed #bbb; border-radius: 50%; color: #bbb; font-size: 9pt; display: flex; align-items: center; justify-content: center; }
  .gw-record { margin-top: 3em; border-top: 1px solid #000; border-bottom: 1px solid #000; padding: 0.2em 0.5em; display: flex; justify-content: space-between; font-size: 12pt; }
  @media print { .gw-seal { border-color: transparent; color: transparent; } }
"#;

/// 版头: 发文机关标志, 发文字号, the red line.
pub fn head(o: &Official) -> String {
    format!(
        "<div class=\"gw-office\">{office}</div>\n<p class=\"gw-number\">{number}</p>\n<hr class=\"gw-rule\">\n",
        office = escape(&o.office),
        number = escape(&o.number),
    )
}

/// 落款: room for the seal over the 发文机关署名 and 成文日期.
pub fn sign_off(o: &Official) -> String {
    format!(
        "<div class=\"gw-sign\"><div class=\"gw-seal\">（盖章处）</div><p>{office}<br>{date}</p></div>\n",
        office = escape(&o.office),
        date = date_zh(o.issued_on),
    )
}

/// 版记: 印发机关 and 印发日期.
pub fn record(o: &Official) -> String {
    format!(
        "<div class=\"gw-record\"><span>{office}</span><span>{date}印发</span></div>\n",
        office = escape(&o.office),
        date = date_zh(o.issued_on),
    )
}
