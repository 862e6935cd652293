//! The workspace's architecture, checked on its sources (`tests/layers.rs`): no file refers to
//! a module that refers back to it, the top-level modules are layers with AWS access at the
//! bottom and the command line on top, and docs/architecture.md's import table is the code's.
//! The crate holds no code: its test reads the other crates' files.
