//! Outputs people print and file: the rectification notice today; ledger exports and bulletins
//! as they are built. Rendering only: the data comes from `domain`.

pub mod html;
pub mod ledger;
pub mod notice;
