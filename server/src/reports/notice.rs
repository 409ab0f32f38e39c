//! The rectification notice (整改通知书) as a printable A4 HTML page.

use super::html::{escape, escape_lines};
use crate::domain::issues::notice::NoticeData;

/// `photo_src` gives each before-photo's `<img src>` (a signed link: the page is printed from a
/// browser that has no bearer header).
pub fn render(n: &NoticeData, photo_src: &dyn Fn(&str) -> String) -> String {
    let photos: String = n
        .before_photos
        .iter()
        .map(|sha| {
            let src = escape(&photo_src(sha));
            let sha = escape(sha);
            format!(
                "<figure><img src=\"{src}\" alt=\"整改前照片\">\
                 <figcaption>{short}</figcaption></figure>",
                short = &sha[..sha.len().min(12)]
            )
        })
        .collect();
    let photos = if photos.is_empty() {
        "<p class=\"none\">（无整改前照片）</p>".to_owned()
    } else {
        photos
    };
    let relapse = if n.reopen_count > 0 {
        format!(
            "<p class=\"relapse\">该问题已反弹 {} 次，请从严整改。</p>",
            n.reopen_count
        )
    } else {
        String::new()
    };
    format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>整改通知书 {ledger_no}</title>
<style>
  @page {{ size: A4; margin: 20mm; }}
  body {{ font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; font-size: 14pt; line-height: 1.7; max-width: 170mm; margin: 0 auto; }}
  h1 {{ text-align: center; font-size: 22pt; letter-spacing: 0.3em; margin-bottom: 0; }}
  .no {{ text-align: center; margin-top: 0.3em; }}
  table {{ width: 100%; border-collapse: collapse; margin: 1em 0; }}
  th, td {{ border: 1px solid #000; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }}
  th {{ width: 7em; font-weight: normal; }}
  figure {{ display: inline-block; width: 48%; margin: 0.5%; }}
  figure img {{ width: 100%; }}
  figcaption {{ font-size: 9pt; color: #555; }}
  .relapse {{ font-weight: bold; }}
  @media print {{ .noprint {{ display: none; }} }}
{official_css}
</style>
</head>
<body>
{head}<h1>整改通知书</h1>
<p class="no">台账编号：{ledger_no}</p>
<p>{unit}：</p>
<p>经督查发现，你单位负责的以下问题需限期整改。请于 <strong>{deadline}</strong> 前整改到位，并上传整改后照片办结反馈。逾期未完成的，将按规定催办、通报、约谈直至问责。</p>
{relapse}
<table>
<tr><th>问题</th><td>{title}</td></tr>
<tr><th>具体情况</th><td>{description}</td></tr>
<tr><th>问题类别</th><td>{category}</td></tr>
<tr><th>所在位置</th><td>{place}{address}</td></tr>
<tr><th>发现日期</th><td>{reported_on}</td></tr>
<tr><th>责任单位</th><td>{unit}</td></tr>
<tr><th>责任人</th><td>{person}</td></tr>
<tr><th>整改目标</th><td>{target}</td></tr>
<tr><th>完成时限</th><td>{deadline}</td></tr>
</table>
<h2>整改前照片</h2>
{photos}
{sign_off}<p>签收人：__________　签收日期：__________</p>
{record}<p class="noprint"><button onclick="window.print()">打印</button></p>
</body>
</html>
"#,
        ledger_no = escape(&n.ledger_no),
        unit = escape(&n.responsible_unit),
        person = escape(&n.responsible_person),
        deadline = n.deadline.format("%Y年%m月%d日"),
        title = escape_lines(&n.title),
        description = escape_lines(&n.description),
        category = escape(&n.category),
        place = escape(&n.place),
        address = n
            .address
            .as_deref()
            .map(|a| format!("（{}）", escape(a)))
            .unwrap_or_default(),
        reported_on = n.reported_on.format("%Y年%m月%d日"),
        target = escape_lines(&n.target),
        official_css = super::official::CSS,
        head = super::official::head(&n.official),
        sign_off = super::official::sign_off(&n.official),
        record = super::official::record(&n.official),
    )
}
