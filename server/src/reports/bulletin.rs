//! The bulletin (通报) as a printable A4 HTML page in the form offices issue it.

use super::html::{escape, escape_lines};
use crate::domain::reports::bulletin::{Bulletin, Mention};
use crate::domain::reports::stats::Figures;
use std::fmt::Write;

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{v:.1}%"))
}

fn days(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{v:.1}"))
}

/// "增加3件" / "减少2件" / "持平".
fn delta(n: i64, unit: &str) -> String {
    match n {
        0 => "持平".to_owned(),
        n if n > 0 => format!("增加{n}{unit}"),
        n => format!("减少{}{unit}", -n),
    }
}

fn figure_cells(f: &Figures) -> String {
    format!(
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
        f.found,
        f.closed,
        f.open,
        f.overdue,
        pct(f.closure_rate),
        pct(f.on_time_rate),
        days(f.avg_days_to_close),
        f.reopened
    )
}

fn mentions(list: &[Mention], none: &str) -> String {
    if list.is_empty() {
        return format!("<p>{none}</p>");
    }
    let mut out = String::from("<ol>");
    for m in list {
        let _ = write!(
            out,
            "<li><strong>{}</strong>：{}。</li>",
            escape(&m.name),
            escape(&m.reasons.join("；"))
        );
    }
    out.push_str("</ol>");
    out
}

/// 一、总体情况 as plain text (the HTML page escapes it; the DOCX writes it as is).
pub fn summary(b: &Bulletin) -> String {
    let t = &b.totals;
    format!(
        "本期（{period}）共发现问题{found}件，销号{closed}件，截至期末未销号{open}件，其中逾期{overdue}件；\
         整改完成率{rate}，按期完成率{on_time}，平均整改用时{avg}天，反弹{reopened}次。\
         与上期（{prev}）相比，发现问题{d_found}，销号{d_closed}，逾期问题{d_overdue}{d_rate}。\
         未销号问题由期初{start}件变为期末{end}件{trend}。",
        period = b.period.label,
        found = t.found,
        closed = t.closed,
        open = t.open,
        overdue = t.overdue,
        rate = pct(t.closure_rate),
        on_time = pct(t.on_time_rate),
        avg = days(t.avg_days_to_close),
        reopened = t.reopened,
        prev = b.previous_period.label,
        d_found = delta(b.change.found, "件"),
        d_closed = delta(b.change.closed, "件"),
        d_overdue = delta(b.change.overdue, "件"),
        d_rate = b.change.closure_rate.map_or(String::new(), |d| match d {
            d if d > 0.0 => format!("，完成率上升{d:.1}个百分点"),
            d if d < 0.0 => format!("，完成率下降{:.1}个百分点", -d),
            _ => "，完成率持平".to_owned(),
        }),
        start = b.backlog_start,
        end = b.backlog_end,
        trend = if b.backlog_end == 0 {
            "，实现动态清零"
        } else {
            ""
        },
    )
}

pub fn render(b: &Bulletin, official: &crate::domain::documents::Official) -> String {
    let summary = escape(&summary(b));
    let mut ranking = String::new();
    for r in &b.ranking {
        let _ = write!(
            ranking,
            "<tr><td>{}</td><td class=\"l\">{}</td>{}</tr>",
            r.rank,
            escape(&r.name),
            figure_cells(&r.figures)
        );
    }
    if ranking.is_empty() {
        ranking = "<tr><td colspan=\"10\">本期无问题</td></tr>".into();
    }
    let mut overdue = String::new();
    for o in &b.overdue {
        let _ = write!(
            overdue,
            "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&o.ledger_no),
            escape_lines(&o.title),
            escape(&o.place),
            escape(&o.responsible_unit),
            o.deadline.format("%Y-%m-%d"),
            o.days_overdue,
            escape(&o.escalation)
        );
    }
    if overdue.is_empty() {
        overdue = "<tr><td colspan=\"7\">无逾期问题</td></tr>".into();
    }
    let mut categories = String::new();
    for c in &b.categories {
        let _ = write!(
            categories,
            "<tr><td class=\"l\">{}</td>{}</tr>",
            escape(&c.name_zh),
            figure_cells(&c.figures)
        );
    }
    format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{title}（{period}）</title>
<style>
  @page {{ size: A4; margin: 18mm; }}
  body {{ font-family: "FangSong", "STFangsong", "Noto Serif CJK SC", serif; font-size: 12pt; line-height: 1.7; max-width: 180mm; margin: 0 auto; }}
  h1 {{ text-align: center; font-size: 20pt; margin-bottom: 0.2em; }}
  .sub {{ text-align: center; margin-top: 0; }}
  h2 {{ font-size: 14pt; margin: 1.2em 0 0.4em; }}
  table {{ width: 100%; border-collapse: collapse; font-size: 10pt; }}
  th, td {{ border: 1px solid #000; padding: 0.2em 0.3em; text-align: center; }}
  td.l {{ text-align: left; }}
  p.summary {{ text-indent: 2em; }}
  @media print {{ .noprint {{ display: none; }} }}
{official_css}
</style>
</head>
<body>
{head}<h1>{title}</h1>
<p class="sub">{period}　　截至{as_of}</p>
<h2>一、总体情况</h2>
<p class="summary">{summary}</p>
<h2>二、各地整改排名</h2>
<table>
<tr><th>排名</th><th>地区</th><th>发现</th><th>销号</th><th>未销号</th><th>逾期</th><th>完成率</th><th>按期率</th><th>平均用时(天)</th><th>反弹</th></tr>
{ranking}
</table>
<h2>三、表扬</h2>
{praised}
<h2>四、通报批评</h2>
{reprimanded}
<h2>五、逾期问题清单</h2>
<table>
<tr><th>台账编号</th><th>问题</th><th>地点</th><th>责任单位</th><th>完成时限</th><th>逾期天数</th><th>督办等级</th></tr>
{overdue}
</table>
<h2>六、分类统计</h2>
<table>
<tr><th>问题类别</th><th>发现</th><th>销号</th><th>未销号</th><th>逾期</th><th>完成率</th><th>按期率</th><th>平均用时(天)</th><th>反弹</th></tr>
{categories}
</table>
{sign_off}{record}<p class="noprint"><button onclick="window.print()">打印</button></p>
</body>
</html>
"#,
        official_css = super::official::CSS,
        head = super::official::head(official),
        sign_off = super::official::sign_off(official),
        record = super::official::record(official),
        title = escape(&b.title),
        period = escape(&b.period.label),
        as_of = b.as_of.format("%Y年%m月%d日"),
        praised = mentions(&b.praised, "本期无"),
        reprimanded = mentions(
            &b.reprimanded,
            &format!("本期无升级至通报或逾期超过{}天的问题", b.long_overdue_days)
        ),
    )
}
