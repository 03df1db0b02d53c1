//! The report layer: what the analysis found, as serde types in a
//! deterministic order, and every way of writing them out.
//!
//! The field names of these types are the user-facing contract (`SPEC.md`;
//! the README's "The report" lists them): scripts and dashboards depend on
//! them. Add fields, never rename.
//!
//! This layer only reads a finished [`Report`]; it never sees packets or
//! flows in progress.

mod types;

pub mod html;
pub mod redact;
pub mod resolve;

pub use types::*;
