//! 交办清单 as a county sends them, for tests and benchmarks of the import.

/// A list of `rows` issues, 乱搭乱建 alternately in villages 甲 and 乙 (the test cast's codes),
/// each assigned to 长安区住建局 (bureau-li) with the deadline written as `due` (any form the
/// import reads: `2026-12-31`, `2026年12月31日`, …).
pub fn assigned_list_csv(rows: usize, due: &str) -> String {
    let mut csv = String::from("问题标题,问题类别,区划代码,责任单位,责任人,整改目标,完成时限\n");
    for i in 0..rows {
        let village = if i % 2 == 0 {
            "130102001001"
        } else {
            "130102001002"
        };
        csv.push_str(&format!(
            "交办问题{i},乱搭乱建,{village},长安区住建局,bureau-li,拆除到位,{due}\n"
        ));
    }
    csv
}
