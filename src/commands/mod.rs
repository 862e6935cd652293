//! One module per subcommand. Each parses its flags, calls the modules that do the work and
//! prints the result; none holds logic of its own.

pub mod render;
pub mod validate;
