//! The before/after album as a printable HTML page: one block per issue, its before-photos and
//! after-photos side by side. Images are the server's thumbnails behind signed links (valid for
//! `photos.signed_url_ttl_secs`, ≤ 1 h), so a browser without the bearer header shows them.

use super::html::{escape, escape_lines};
use crate::domain::reports::album::{ALBUM_MAX, Album};
use std::fmt::Write;

fn figures(
    photos: &[String],
    alt: &str,
    flags: &std::collections::BTreeMap<String, Vec<&'static str>>,
    photo_src: &dyn Fn(&str) -> String,
) -> String {
    if photos.is_empty() {
        return "<p class=\"none\">（无照片）</p>".to_owned();
    }
    let mut out = String::new();
    for sha in photos {
        let notes: String = flags
            .get(sha)
            .map(|f| {
                f.iter()
                    .map(|m| format!("<li>{}</li>", escape(m)))
                    .collect()
            })
            .unwrap_or_default();
        let src = escape(&photo_src(sha));
        let sha = escape(sha);
        let _ = write!(
            out,
            "<figure><img src=\"{src}\" alt=\"{alt}\" title=\"{sha}\">"
        );
        if !notes.is_empty() {
            let _ = write!(out, "<ul class=\"flags\">{notes}</ul>");
        }
        out.push_str("</figure>");
    }
    out
}

/// `photo_src` gives each photo's `<img src>` (a signed link: the page is printed from a browser
/// that has no bearer header).
pub fn render(album: &Album, title: &str, photo_src: &dyn Fn(&str) -> String) -> String {
    let mut blocks = String::new();
    for e in &album.entries {
        let l = &e.line;
        let _ = write!(
            blocks,
            r#"<section>
<h2>{seq}. {title}</h2>
<p class="meta">台账编号：{no}　地点：{place}　类别：{category}　状态：{state}</p>
<p class="meta">上报：{reported}　完成时限：{deadline}　整改反馈：{after_on}　销号：{closed}　责任单位：{unit}</p>
<div class="pair"><div><h3>整改前</h3>{before}</div><div><h3>整改后</h3>{after}</div></div>
</section>
"#,
            seq = l.seq,
            title = escape_lines(&l.title),
            no = escape(&l.ledger_no),
            place = escape(&l.place),
            category = escape(&l.category),
            state = l.state,
            reported = l.reported_on.format("%Y-%m-%d"),
            deadline = l
                .deadline
                .map_or("—".into(), |d| d.format("%Y-%m-%d").to_string()),
            after_on = e
                .after_on
                .map_or("—".into(), |d| d.format("%Y-%m-%d").to_string()),
            closed = l
                .closed_on
                .map_or("—".into(), |d| d.format("%Y-%m-%d").to_string()),
            unit = escape(&l.responsible_unit),
            before = figures(&e.before, "整改前照片", &e.flags, photo_src),
            after = figures(&e.after, "整改后照片", &e.flags, photo_src),
        );
    }
    if album.entries.is_empty() {
        blocks = "<p>没有符合条件的问题。</p>".into();
    }
    let more = if album.truncated {
        format!("<p class=\"more\">仅收录前{ALBUM_MAX}条，请缩小筛选范围分册打印。</p>")
    } else {
        String::new()
    };
    format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  @page {{ size: A4; margin: 15mm; }}
  body {{ font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; font-size: 11pt; max-width: 180mm; margin: 0 auto; }}
  h1 {{ text-align: center; font-size: 20pt; }}
  section {{ page-break-inside: avoid; border-top: 1px solid #000; padding-top: 0.5em; margin-top: 1em; }}
  h2 {{ font-size: 13pt; margin: 0.2em 0; }}
  h3 {{ font-size: 11pt; margin: 0.2em 0; text-align: center; }}
  .meta {{ margin: 0.1em 0; font-size: 10pt; }}
  .pair {{ display: flex; gap: 4mm; }}
  .flags {{ margin: 0.2em 0 0.6em 1.2em; padding: 0; font-size: 9pt; color: #a00; }}
  .pair > div {{ flex: 1; }}
  .pair img {{ width: 100%; margin-bottom: 2mm; }}
  .none {{ text-align: center; color: #666; }}
  @media print {{ .noprint {{ display: none; }} }}
</style>
</head>
<body>
<h1>{title}</h1>
<p style="text-align:center">截至{as_of}　共{count}条</p>
{more}
{blocks}
<p class="noprint"><button onclick="window.print()">打印</button></p>
</body>
</html>
"#,
        title = escape(title),
        as_of = album.as_of.format("%Y年%m月%d日"),
        count = album.entries.len(),
    )
}
