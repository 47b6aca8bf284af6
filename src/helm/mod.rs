//! devloop's own Helm renderer: no helm binary, no Go toolchain.
//!
//! [`template`] is the language (Go's `text/template` with Go's semantics,
//! Helm's `missingkey` behaviour and error wording); [`funcs`] is Helm's
//! function library (Helm's own functions and Sprig's). The chart model
//! builds on both; it does not live here yet.

pub mod funcs;
pub mod template;
