//! Calls and what they reach: SIP dialogs with their SDP ([`dialog`]),
//! calls inferred from media without signalling ([`infer`]), the STUN/TURN
//! servers and provider relays on the path ([`relay`]), internal
//! addresses exposed in signalling and NAT traversal ([`leak`]), and the
//! names DNS answers gave addresses ([`names`]).
//!
//! The tables here are written by the handlers in [`crate::dissect`] and
//! read when the report is assembled; they never reach a parser or a flow.

pub mod dialog;
pub mod infer;
pub mod leak;
pub mod names;
pub mod relay;
pub mod tls_relay;
