//! The report layer: what the analysis found, as serde types in a
//! deterministic order, and every way of writing them out.
//!
//! The field names of these types are the user-facing contract (`SPEC.md`;
//! the README's "The report" lists them): scripts and dashboards depend on
//! them. Add fields, never rename.
//!
//! * `types`: the types of the contract, from [`Report`] down, and the
//!   output [`Format`];
//! * `json`: one JSON object ([`Report::write_json`], or with the flows
//!   serialized on several threads, [`Report::write_json_threads`]) and
//!   NDJSON records ([`Report::write_ndjson`], [`write_record`]);
//! * `table`: the terminal table ([`Report::write_table`]);
//! * [`html`]: the self-contained HTML page;
//! * [`redact`] and [`resolve`]: rewrite a finished report, with pseudonyms
//!   (`--redact`) or reverse DNS names (`--resolve`).
//!
//! This layer only reads a finished [`Report`] (and the address scopes of
//! `crate::scope`); it never sees packets or flows in progress.

mod flow_json;
mod grid;
mod json;
#[cfg(test)]
mod schema;
mod shares;
mod table;
mod types;

pub mod geo;
pub mod html;
pub mod redact;
pub mod resolve;
pub mod spill;

pub use json::{set_sensor, write_flow_record, write_record};
pub use shares::join_relays;
pub use types::*;
