//! The inspection record (督查记录单) as a printable A4 page.

use super::html::{escape, escape_lines};
use crate::domain::inspections::record_sheet::RecordSheet;
use std::fmt::Write;

fn figure(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v}"))
}

/// The page; `photo_src` turns a photo's SHA-256 into an `<img>` URL the reader's browser can load
/// (a signed link for the API, the session-cookie route for the console).
pub fn render(s: &RecordSheet, photo_src: &dyn Fn(&str) -> String) -> String {
    let mut rows = String::new();
    for (n, i) in s.items.iter().enumerate() {
        let photos: String = i
            .photos
            .iter()
            .map(|sha| {
                let src = escape(&photo_src(sha));
                let sha = escape(sha);
                format!("<img src=\"{src}\" alt=\"现场照片\" title=\"{sha}\">")
            })
            .collect();
        let _ = writeln!(
            rows,
            "<tr{class}><td>{n}</td><td class=\"l\">{section}{title}</td><td>{result}</td><td>{score}</td><td>{max}</td><td class=\"l\">{note}{issue}</td><td class=\"p\">{photos}</td></tr>",
            class = if i.failed { " class=\"failed\"" } else { "" },
            n = n + 1,
            section = i
                .section
                .as_deref()
                .map(|s| format!("<span class=\"sec\">{}</span><br>", escape(s)))
                .unwrap_or_default(),
            title = escape(&i.title),
            result = escape_lines(&i.result),
            score = figure(i.score),
            max = figure(i.max),
            note = escape_lines(&i.note),
            issue = i
                .issue
                .as_deref()
                .map(|no| format!("<br>已立问题：{}", escape(no)))
                .unwrap_or_default(),
        );
    }
    format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>督查记录单</title>
<style>
  @page {{ size: A4; margin: 18mm; }}
  body {{ font-family: "FangSong", "STFangsong", "Noto Serif CJK SC", serif; font-size: 12pt; line-height: 1.6; max-width: 180mm; margin: 0 auto; }}
  h1 {{ text-align: center; font-size: 20pt; letter-spacing: 0.3em; }}
  table {{ width: 100%; border-collapse: collapse; font-size: 10.5pt; margin: 0.5em 0; }}
  th, td {{ border: 1px solid #000; padding: 0.2em 0.3em; text-align: center; vertical-align: top; }}
  td.l, th.l {{ text-align: left; }}
  td.p img {{ width: 30mm; margin: 1mm; }}
  tr.failed td {{ font-weight: bold; }}
  .sec {{ color: #555; font-size: 9pt; }}
  .signs {{ margin-top: 2em; display: flex; justify-content: space-between; }}
  @media print {{ .noprint {{ display: none; }} }}
</style>
</head>
<body>
<h1>督查记录单</h1>
<table>
<tr><th>督查表</th><td class="l" colspan="3">{template}</td></tr>
<tr><th>督查地点</th><td class="l">{place}</td><th>具体位置</th><td class="l">{site}</td></tr>
<tr><th>督查组成员</th><td class="l" colspan="3">{team}</td></tr>
<tr><th>开始时间</th><td class="l">{started}</td><th>结束时间</th><td class="l">{finished}</td></tr>
</table>
<table>
<tr><th>序号</th><th class="l">督查项目</th><th>结果</th><th>得分</th><th>分值</th><th class="l">情况说明</th><th>照片</th></tr>
{rows}<tr><th colspan="3">合计</th><td>{score}</td><td>{max}</td><td class="l" colspan="2">得分率：{percent}</td></tr>
</table>
<p>督查意见：{summary}</p>
<div class="signs"><span>督查人员（签字）：____________</span><span>被督查单位负责人（签字）：____________</span></div>
<p style="text-align:right">日期：____年__月__日</p>
<p class="noprint"><button onclick="window.print()">打印</button></p>
</body>
</html>
"#,
        template = escape(&s.template),
        place = escape(&s.place),
        site = escape(&s.site),
        team = escape(&s.team.join("、")),
        started = escape(&s.started),
        finished = s
            .finished
            .as_deref()
            .map_or("（未完成）".to_owned(), escape),
        score = s.score,
        max = s.max_score,
        percent = s.percent.map_or("—".to_owned(), |p| format!("{p:.1}%")),
        summary = escape_lines(&s.summary),
    )
}
