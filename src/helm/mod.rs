//! devloop's own Helm renderer: no helm binary, no Go toolchain.
//!
//! [`template`] is the language (Go's `text/template` with Go's semantics,
//! Helm's `missingkey` behaviour and error wording); [`funcs`] is Helm's
//! function library (Helm's own functions and Sprig's). The chart model
//! builds on both; [`rendered`] is what a render hands to deploy.

pub mod chart;
pub mod funcs;
pub mod rendered;
pub mod template;
