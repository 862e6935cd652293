//! Every key a stack file may hold and the kind of value it takes: what the first pass over a
//! parsed file checks (unknown keys, wrong types), and what `schemas/stack-file.json` is
//! generated from. The table is not written here: it is read from the types of `schema.rs`,
//! whose declarations ([`settings!`](super::language)) say each key, its kind and its help.

pub use super::language::{Key, Kind};
use super::positions::join;
use super::schema::{ExplicitNetwork, ImageFromSource, StackFile};

/// The top level of a stack file (`StackFile`).
pub(super) const STACK_FILE: &[Key] = StackFile::KEYS;

/// The mapping form of `workers.network` (`ExplicitNetwork`).
pub(super) const EXPLICIT_NETWORK: &[Key] = ExplicitNetwork::KEYS;

/// The mapping form of an image setting (`ImageFromSource`).
pub(super) const IMAGE_FROM_SOURCE: &[Key] = ImageFromSource::KEYS;

/// Every mapping of settings with its dotted path (`""` for the top level), parents first.
pub(super) fn mappings() -> Vec<(String, &'static [Key])> {
    fn visit(path: String, keys: &'static [Key], out: &mut Vec<(String, &'static [Key])>) {
        out.push((path.clone(), keys));
        for k in keys {
            let child = join(&path, k.name);
            match k.kind {
                Kind::Settings(inner) | Kind::Optional(&Kind::Settings(inner)) => {
                    visit(child, inner, out)
                }
                Kind::Network => visit(child, EXPLICIT_NETWORK, out),
                Kind::Image | Kind::Optional(&Kind::Image) => visit(child, IMAGE_FROM_SOURCE, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    visit(String::new(), STACK_FILE, &mut out);
    out
}

/// Every key's dotted path (`workers.lambda.timeout`), mappings included, in table order.
#[cfg(test)]
pub(super) fn all_paths() -> Vec<String> {
    mappings()
        .into_iter()
        .flat_map(|(path, keys)| keys.iter().map(move |k| join(&path, k.name)))
        .collect()
}

/// The names of a mapping's keys, for "allowed here" lists.
pub(super) fn names(keys: &[Key]) -> Vec<&'static str> {
    keys.iter().map(|k| k.name).collect()
}

/// The key of `table` named `name`.
pub(super) fn find(table: &'static [Key], name: &str) -> Option<&'static Key> {
    table.iter().find(|k| k.name == name)
}
