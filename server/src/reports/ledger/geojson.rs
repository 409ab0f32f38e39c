//! The ledger as a GeoJSON FeatureCollection of issue points (RFC 7946: WGS-84, `[lon, lat]`).
//! Issues without a location cannot be drawn: they are left out and counted in the top-level
//! member `omitted_without_location` (written last, once the count is known, so the collection
//! streams).

use super::{Renderer, Written, io_error};
use crate::domain::reports::ledger::{LedgerMeta, LedgerRow};
use crate::error::AppError;
use serde_json::json;
use std::io::Write;

pub struct GeoJson<W: Write> {
    out: W,
    written: Written,
}

impl<W: Write> GeoJson<W> {
    pub fn new(meta: &LedgerMeta, mut out: W) -> Result<Self, AppError> {
        let head = json!({"title": format!("{}整改台账", meta.scope), "period": meta.period});
        write!(
            out,
            "{{\"type\":\"FeatureCollection\",\"title\":{},\"period\":{},\"features\":[",
            head["title"], head["period"]
        )
        .map_err(io_error)?;
        Ok(Self {
            out,
            written: Written::default(),
        })
    }
}

fn feature(r: &LedgerRow, lon: f64, lat: f64) -> serde_json::Value {
    json!({
        "type": "Feature",
        "id": r.id,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "seq": r.seq,
            "ledger_no": r.ledger_no,
            "title": r.title,
            "category": r.category_code,
            "category_zh": r.category,
            "place": r.place,
            "address": r.address,
            "responsible_unit": r.responsible_unit,
            "responsible_person": r.responsible_person,
            "deadline": r.deadline,
            "state": r.state_code,
            "state_zh": r.state,
            "overdue": r.overdue,
            "days_overdue": r.days_overdue,
            "escalation_level": r.escalation_level,
            "reopen_count": r.reopen_count,
            "reported_on": r.reported_on,
            "closed_on": r.closed_on,
            "light": r.light,
        }
    })
}

impl<W: Write> Renderer for GeoJson<W> {
    fn rows(&mut self, rows: &[LedgerRow]) -> Result<(), AppError> {
        for r in rows {
            let (Some(lon), Some(lat)) = (r.lon, r.lat) else {
                self.written.without_location += 1;
                continue;
            };
            if self.written.rows > 0 {
                self.out.write_all(b",").map_err(io_error)?;
            }
            serde_json::to_writer(&mut self.out, &feature(r, lon, lat)).map_err(io_error)?;
            self.written.rows += 1;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Written, AppError> {
        write!(
            self.out,
            "],\"omitted_without_location\":{}}}",
            self.written.without_location
        )
        .map_err(io_error)?;
        self.out.flush().map_err(io_error)?;
        Ok(self.written)
    }
}
