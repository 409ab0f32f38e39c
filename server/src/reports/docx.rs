//! Official documents as DOCX (Word/WPS) that an office edits before issuing, laid out after
//! GB/T 9704-2012: A4 with its margins (top 37 mm, bottom 35 mm, left 28 mm, right 26 mm), the
//! 发文机关标志 in red, the 发文字号 under it, a red line, the title in 小标宋 二号, body text in
//! 仿宋 三号, the 落款 with room for the seal, and the 版记. Written with docx-rs.

use super::official::date_zh;
use crate::domain::documents::Official;
use crate::error::AppError;
use docx_rs::{
    AlignmentType, BorderType, BreakType, Docx, LineSpacing, PageMargin, Paragraph,
    ParagraphBorder, ParagraphBorderPosition, Run, RunFonts, SpecialIndentType, Table, TableCell,
    TableRow,
};

pub const CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

const RED: &str = "C00000";
/// Half-points: 三号 16 pt, 二号 22 pt, 四号 14 pt, 小四 12 pt, 五号 10.5 pt.
const SAN_HAO: usize = 32;
const ER_HAO: usize = 44;
const SI_HAO: usize = 28;
const WU_HAO: usize = 21;

fn fangsong() -> RunFonts {
    RunFonts::new()
        .east_asia("仿宋_GB2312")
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
}

fn xiaobiaosong() -> RunFonts {
    RunFonts::new()
        .east_asia("方正小标宋简体")
        .ascii("Times New Roman")
}

/// A run of a person's text: each line break becomes a break in the paragraph.
pub fn text_run(text: &str) -> Run {
    let mut run = Run::new();
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    for (i, line) in normalized.split('\n').enumerate() {
        if i > 0 {
            run = run.add_break(BreakType::TextWrapping);
        }
        run = run.add_text(line);
    }
    run
}

/// A body paragraph: 仿宋 三号, first line indented two characters.
pub fn body(text: &str) -> Paragraph {
    Paragraph::new()
        .add_run(text_run(text).size(SAN_HAO).fonts(fangsong()))
        .indent(None, Some(SpecialIndentType::FirstLine(640)), None, None)
}

/// A paragraph flush left (主送机关, headings).
pub fn plain(text: &str, size: usize, bold: bool) -> Paragraph {
    let mut run = text_run(text).size(size).fonts(fangsong());
    if bold {
        run = run.bold();
    }
    Paragraph::new().add_run(run)
}

pub fn title(text: &str) -> Paragraph {
    Paragraph::new()
        .align(AlignmentType::Center)
        .add_run(text_run(text).size(ER_HAO).fonts(xiaobiaosong()))
}

/// A bordered table: a header row then the rows, 五号 text.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> Table {
    let cell = |t: &str, bold: bool| {
        let mut run = text_run(t).size(WU_HAO).fonts(fangsong());
        if bold {
            run = run.bold();
        }
        TableCell::new().add_paragraph(Paragraph::new().add_run(run))
    };
    let mut out = Vec::with_capacity(rows.len() + 1);
    if !headers.is_empty() {
        out.push(TableRow::new(
            headers.iter().map(|h| cell(h, true)).collect(),
        ));
    }
    for r in rows {
        out.push(TableRow::new(r.iter().map(|t| cell(t, false)).collect()));
    }
    Table::new(out)
}

/// A new GB/T 9704 page with the 版头: 发文机关标志 (red), 发文字号, the red line.
pub fn document(o: Option<&Official>) -> Docx {
    let doc = Docx::new()
        .page_size(11906, 16838)
        .page_margin(PageMargin {
            top: 2098,
            bottom: 1984,
            left: 1587,
            right: 1474,
            header: 851,
            footer: 992,
            gutter: 0,
        })
        .default_fonts(fangsong())
        .default_size(SAN_HAO)
        .default_line_spacing(LineSpacing::new().line(560));
    let Some(o) = o else {
        return doc;
    };
    let mut rule = Paragraph::new()
        .align(AlignmentType::Center)
        .add_run(text_run(&o.number).size(SAN_HAO).fonts(fangsong()));
    rule.property = rule.property.set_border(
        ParagraphBorder::new(ParagraphBorderPosition::Bottom)
            .val(BorderType::Single)
            .size(12)
            .space(8)
            .color(RED),
    );
    doc.add_paragraph(
        Paragraph::new().align(AlignmentType::Center).add_run(
            text_run(&o.office)
                .size(52)
                .color(RED)
                .bold()
                .fonts(xiaobiaosong()),
        ),
    )
    .add_paragraph(rule)
    .add_paragraph(Paragraph::new())
}

/// 落款: blank lines for the seal, then 发文机关署名 and 成文日期 on the right.
pub fn sign_off(doc: Docx, o: &Official) -> Docx {
    let right = |t: &str| {
        Paragraph::new()
            .align(AlignmentType::Right)
            .indent(None, None, Some(1280), None)
            .add_run(text_run(t).size(SAN_HAO).fonts(fangsong()))
    };
    let mut doc = doc.add_paragraph(Paragraph::new());
    // Room for the seal (印章), which covers the signature and date.
    for _ in 0..3 {
        doc = doc.add_paragraph(Paragraph::new());
    }
    let date = date_zh(o.issued_on);
    doc.add_paragraph(right(&o.office))
        .add_paragraph(right(&date))
}

/// 版记: 印发机关 and 印发日期 between two lines, last on the page.
pub fn record(doc: Docx, o: &Official) -> Docx {
    let date = date_zh(o.issued_on);
    let mut record = Paragraph::new().add_run(
        text_run(&format!("{}　　　　{}印发", o.office, date))
            .size(SI_HAO)
            .fonts(fangsong()),
    );
    record.property = record
        .property
        .set_border(
            ParagraphBorder::new(ParagraphBorderPosition::Top)
                .val(BorderType::Single)
                .size(8)
                .color("000000"),
        )
        .set_border(
            ParagraphBorder::new(ParagraphBorderPosition::Bottom)
                .val(BorderType::Single)
                .size(8)
                .color("000000"),
        );
    doc.add_paragraph(Paragraph::new())
        .add_paragraph(Paragraph::new())
        .add_paragraph(record)
}

/// The finished file.
pub fn pack(doc: Docx) -> Result<Vec<u8>, AppError> {
    let mut out = std::io::Cursor::new(Vec::new());
    doc.build()
        .pack(&mut out)
        .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))?;
    Ok(out.into_inner())
}

/// The rectification notice (整改通知书).
pub fn notice(n: &crate::domain::issues::notice::NoticeData) -> Result<Vec<u8>, AppError> {
    let deadline = date_zh(n.deadline);
    let mut doc = document(Some(&n.official))
        .add_paragraph(title("整改通知书"))
        .add_paragraph(Paragraph::new())
        .add_paragraph(plain(&format!("{}：", n.responsible_unit), SAN_HAO, false))
        .add_paragraph(body(&format!(
            "经督查发现，你单位负责的以下问题需限期整改。请于{deadline}前整改到位，并上传整改后照片办结反馈。逾期未完成的，将按规定催办、通报、约谈直至问责。"
        )));
    if n.reopen_count > 0 {
        doc = doc.add_paragraph(body(&format!(
            "该问题已反弹{}次，请从严整改。",
            n.reopen_count
        )));
    }
    let place = match &n.address {
        Some(a) => format!("{}（{a}）", n.place),
        None => n.place.clone(),
    };
    let rows: Vec<Vec<String>> = [
        ("台账编号", n.ledger_no.clone()),
        ("问题", n.title.clone()),
        ("具体情况", n.description.clone()),
        ("问题类别", n.category.clone()),
        ("所在位置", place),
        ("发现日期", date_zh(n.reported_on)),
        ("责任单位", n.responsible_unit.clone()),
        ("责任人", n.responsible_person.clone()),
        ("整改目标", n.target.clone()),
        ("完成时限", deadline.clone()),
        (
            "整改前照片",
            format!("{}张（见系统）", n.before_photos.len()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| vec![k.to_owned(), v])
    .collect();
    doc = doc.add_table(table(&[], &rows));
    doc = sign_off(doc, &n.official).add_paragraph(plain(
        "签收人：__________　签收日期：__________",
        SI_HAO,
        false,
    ));
    pack(record(doc, &n.official))
}

/// The bulletin (通报): the same sections as the printable page.
pub fn bulletin(
    b: &crate::domain::reports::bulletin::Bulletin,
    o: &Official,
) -> Result<Vec<u8>, AppError> {
    use crate::domain::reports::stats::Figures;
    let pct = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v:.1}%"));
    let days = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v:.1}"));
    let figures = |f: &Figures| {
        vec![
            f.found.to_string(),
            f.closed.to_string(),
            f.open.to_string(),
            f.overdue.to_string(),
            pct(f.closure_rate),
            pct(f.on_time_rate),
            days(f.avg_days_to_close),
            f.reopened.to_string(),
        ]
    };
    let heading = |t: &str| plain(t, SAN_HAO, true);
    let mentions = |list: &[crate::domain::reports::bulletin::Mention], none: &str| {
        if list.is_empty() {
            vec![body(none)]
        } else {
            list.iter()
                .enumerate()
                .map(|(i, m)| {
                    body(&format!(
                        "{}. {}：{}。",
                        i + 1,
                        m.name,
                        m.reasons.join("；")
                    ))
                })
                .collect()
        }
    };
    let mut doc = document(Some(o))
        .add_paragraph(title(&b.title))
        .add_paragraph(
            Paragraph::new().align(AlignmentType::Center).add_run(
                text_run(&format!("{}　　截至{}", b.period.label, date_zh(b.as_of)))
                    .size(SAN_HAO)
                    .fonts(fangsong()),
            ),
        )
        .add_paragraph(heading("一、总体情况"))
        .add_paragraph(body(&crate::reports::bulletin::summary(b)))
        .add_paragraph(heading("二、各地整改排名"));
    let ranking: Vec<Vec<String>> = b
        .ranking
        .iter()
        .map(|r| {
            let mut row = vec![r.rank.to_string(), r.name.clone()];
            row.extend(figures(&r.figures));
            row
        })
        .collect();
    doc = doc.add_table(table(
        &[
            "排名",
            "地区",
            "发现",
            "销号",
            "未销号",
            "逾期",
            "完成率",
            "按期率",
            "平均用时(天)",
            "反弹",
        ],
        &ranking,
    ));
    doc = doc.add_paragraph(heading("三、表扬"));
    for p in mentions(&b.praised, "本期无") {
        doc = doc.add_paragraph(p);
    }
    doc = doc.add_paragraph(heading("四、通报批评"));
    for p in mentions(
        &b.reprimanded,
        &format!("本期无升级至通报或逾期超过{}天的问题", b.long_overdue_days),
    ) {
        doc = doc.add_paragraph(p);
    }
    doc = doc.add_paragraph(heading("五、逾期问题清单"));
    let overdue: Vec<Vec<String>> = b
        .overdue
        .iter()
        .map(|i| {
            vec![
                i.ledger_no.clone(),
                i.title.clone(),
                i.place.clone(),
                i.responsible_unit.clone(),
                i.deadline.format("%Y-%m-%d").to_string(),
                i.days_overdue.to_string(),
                i.escalation.clone(),
            ]
        })
        .collect();
    doc = doc.add_table(table(
        &[
            "台账编号",
            "问题",
            "地点",
            "责任单位",
            "完成时限",
            "逾期天数",
            "督办等级",
        ],
        &overdue,
    ));
    doc = doc.add_paragraph(heading("六、分类统计"));
    let categories: Vec<Vec<String>> = b
        .categories
        .iter()
        .map(|c| {
            let mut row = vec![c.name_zh.clone()];
            row.extend(figures(&c.figures));
            row
        })
        .collect();
    doc = doc.add_table(table(
        &[
            "问题类别",
            "发现",
            "销号",
            "未销号",
            "逾期",
            "完成率",
            "按期率",
            "平均用时(天)",
            "反弹",
        ],
        &categories,
    ));
    pack(record(sign_off(doc, o), o))
}

/// The inspection record (督查记录单): header table, one row per item, total, signature lines.
pub fn inspection_record(
    s: &crate::domain::inspections::record_sheet::RecordSheet,
) -> Result<Vec<u8>, AppError> {
    let figure = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v}"));
    let head = vec![
        vec!["督查表".to_owned(), s.template.clone()],
        vec!["督查地点".to_owned(), format!("{}　{}", s.place, s.site)],
        vec!["督查组成员".to_owned(), s.team.join("、")],
        vec![
            "督查时间".to_owned(),
            format!(
                "{} 至 {}",
                s.started,
                s.finished.as_deref().unwrap_or("（未完成）")
            ),
        ],
    ];
    let mut rows: Vec<Vec<String>> = s
        .items
        .iter()
        .enumerate()
        .map(|(n, i)| {
            let mut note = i.note.clone();
            if let Some(no) = &i.issue {
                note.push_str(&format!("\n已立问题：{no}"));
            }
            vec![
                (n + 1).to_string(),
                match &i.section {
                    Some(sec) => format!("{sec}\n{}", i.title),
                    None => i.title.clone(),
                },
                i.result.clone(),
                figure(i.score),
                figure(i.max),
                note,
                if i.photos.is_empty() {
                    String::new()
                } else {
                    format!("{}张", i.photos.len())
                },
            ]
        })
        .collect();
    rows.push(vec![
        "合计".to_owned(),
        String::new(),
        String::new(),
        format!("{}", s.score),
        format!("{}", s.max_score),
        format!(
            "得分率：{}",
            s.percent.map_or("—".to_owned(), |p| format!("{p:.1}%"))
        ),
        String::new(),
    ]);
    let doc = document(None)
        .add_paragraph(title("督查记录单"))
        .add_paragraph(Paragraph::new())
        .add_table(table(&[], &head))
        .add_paragraph(Paragraph::new())
        .add_table(table(
            &[
                "序号",
                "督查项目",
                "结果",
                "得分",
                "分值",
                "情况说明",
                "照片",
            ],
            &rows,
        ))
        .add_paragraph(plain(&format!("督查意见：{}", s.summary), SI_HAO, false))
        .add_paragraph(Paragraph::new())
        .add_paragraph(plain(
            "督查人员（签字）：____________　　被督查单位负责人（签字）：____________",
            SI_HAO,
            false,
        ))
        .add_paragraph(
            Paragraph::new().align(AlignmentType::Right).add_run(
                text_run("日期：____年__月__日")
                    .size(SI_HAO)
                    .fonts(fangsong()),
            ),
        );
    pack(doc)
}
