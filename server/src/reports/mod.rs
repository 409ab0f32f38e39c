//! Outputs people print and file: the rectification notice, ledger exports (XLSX, CSV, GeoJSON),
//! bulletins and before/after albums. Rendering only: the data comes from `domain`.

pub mod album;
pub mod bulletin;
pub mod docx;
pub mod html;
pub mod inspection_record;
pub mod ledger;
pub mod notice;
pub mod official;
