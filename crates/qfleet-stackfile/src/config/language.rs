//! The stack-file language's vocabulary: the kind of value a key takes ([`Kind`]), one key of a
//! mapping of settings ([`Key`]), and what a Rust type of the stack file is as a setting
//! ([`Setting`]). The types of `schema.rs` are declared through [`settings!`] and [`choices!`],
//! which derive from the one declaration each type's key table: its keys, the kind of each
//! (from the field's Rust type), which must be set, and what each accepts (the help shown under
//! an error about it and in the JSON Schema). The key table, the allowed values and the JSON
//! Schema are read from there (`keys.rs`, `allowed.rs`, `editor_schema.rs`).

use super::duration::Seconds;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The kind of value a key takes, as serde_yaml reads it into the types of `schema.rs`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// `true` or `false` (a `bool`).
    Bool,
    /// A whole number, possibly negative (an `i64`).
    Int,
    /// A whole number from 0 to 4294967295 (a `u32`).
    UInt,
    /// Any number (an `f64`).
    Float,
    /// Whole seconds or a number with a unit (`Seconds`).
    Duration,
    /// Text; serde_yaml reads any single value (`t3.micro`, `4711`, `true`) as text.
    Text,
    /// One of these words (an enum such as `WorkerKind`).
    Choice(&'static [&'static str]),
    /// The kind, or nothing (`key:` or `key: ~`): an `Option`.
    Optional(&'static Kind),
    /// A mapping of these settings (a struct); an empty value means every default.
    Settings(&'static [Key]),
    /// A mapping of the user's own names to text (tags, subnets); empty means none.
    Names,
    /// A mapping of the user's own names to whole numbers (`limits`); empty means none.
    Counts,
    /// `default`, or a mapping with `vpc` and `subnets` (`Network`).
    Network,
    /// An image reference, or a mapping with `build` (`ImageSetting`).
    Image,
    /// A list of values of the kind (a `Vec`).
    List(&'static Kind),
    /// One text value, or a list of them (`alerts.email`).
    TextOrList,
    /// Any value: a free-form part of a setting whose own rules check it (an IAM condition).
    Any,
}

impl Kind {
    /// The settings of a mapping, of a list of them or of an optional one.
    pub(super) fn table(self) -> Option<&'static [Key]> {
        match self {
            Kind::Settings(keys) => Some(keys),
            Kind::Optional(inner) | Kind::List(inner) => inner.table(),
            _ => None,
        }
    }

    /// The settings of each item of a list of mappings (or of an optional one).
    pub(super) fn list_of(self) -> Option<&'static [Key]> {
        match self {
            Kind::List(inner) => inner.table(),
            Kind::Optional(inner) => inner.list_of(),
            _ => None,
        }
    }
}

/// One key of a mapping of settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Key {
    pub(super) name: &'static str,
    pub(super) kind: Kind,
    /// The file must set it (no default).
    pub(super) required: bool,
    /// What it accepts, shown under an error about it. `{keys}` stands for the names of its
    /// mapping's keys (`a, b, c`), `{keys and}` for the same as `a, b and c`, `{settings}` for
    /// them with `(required)` after a required one, `{choices}` for its words with their help
    /// (`a (…), b or c`).
    pub(super) help: Option<&'static str>,
    /// What each entry accepts: an item of a list, or a name of a mapping of names and its value.
    pub(super) each: Option<&'static str>,
    /// The words of a choice with their help, as the enum declares them.
    pub(super) choices: &'static [Choice],
}

/// One word of a choice (a variant of an enum such as `WorkerKind`) and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub(super) word: &'static str,
    pub(super) help: Option<&'static str>,
}

/// What a Rust type is as a stack-file setting: the kind of value it reads, and for an enum
/// its words.
pub(super) trait Setting {
    const KIND: Kind;
    const CHOICES: &'static [Choice] = &[];
}

impl Setting for bool {
    const KIND: Kind = Kind::Bool;
}

impl Setting for i64 {
    const KIND: Kind = Kind::Int;
}

impl Setting for u32 {
    const KIND: Kind = Kind::UInt;
}

impl Setting for f64 {
    const KIND: Kind = Kind::Float;
}

impl Setting for String {
    const KIND: Kind = Kind::Text;
}

/// A path relative to the stack file, read as text.
impl Setting for PathBuf {
    const KIND: Kind = Kind::Text;
}

impl Setting for Seconds {
    const KIND: Kind = Kind::Duration;
}

/// A mapping of the user's own names (tags, variables, subnets) to text.
impl Setting for BTreeMap<String, String> {
    const KIND: Kind = Kind::Names;
}

/// A mapping of the user's own names to whole numbers (`limits`).
impl Setting for BTreeMap<String, u32> {
    const KIND: Kind = Kind::Counts;
}

/// Free-form: an IAM condition block, whose own rules check it.
impl Setting for serde_json::Value {
    const KIND: Kind = Kind::Any;
}

/// The kind, or nothing; nothing twice is nothing once.
impl<T: Setting> Setting for Option<T> {
    const KIND: Kind = match T::KIND {
        Kind::Optional(_) | Kind::Any => T::KIND,
        _ => Kind::Optional(&T::KIND),
    };
    const CHOICES: &'static [Choice] = T::CHOICES;
}

/// A list, or nothing: every list of the stack file is read with `null_as_empty`, so `key:`
/// and `key: ~` are an empty list.
impl<T: Setting> Setting for Vec<T> {
    const KIND: Kind = Kind::Optional(&Kind::List(&T::KIND));
}

/// True when a field is marked `= required` (its marker, or none).
#[doc(hidden)]
pub const fn marked(markers: &[&str]) -> bool {
    !markers.is_empty()
}

/// Declares a struct of settings and, from the same declaration, its key table
/// (`Type::KEYS`) and its [`Setting`]. Each field reads
/// `/// docs, #[attributes] pub name: Type [as "Key"] [= required] [=> "help" [; each "help"]]`:
/// `as` names the key when it is not the field's name (serde's `rename`), `= required` makes
/// the file set it (every other field gets serde's `default`), `=>` says what it accepts and
/// `each` what an item or an entry of it accepts. `struct Name: defaults { … }` declares a
/// mapping whose every key is optional and defaults to the type's `Default` (serde's `default`
/// on the struct). Every mapping rejects unknown keys (serde's `deny_unknown_fields`).
macro_rules! settings {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident: defaults {
            $(
                $(#[$fattr:meta])*
                $fvis:vis $field:ident : $fty:ty
                $(as $key:literal)?
                $(=> $help:literal $(; each $each:literal)?)?
            ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        #[serde(deny_unknown_fields, default)]
        $vis struct $name {
            $(
                $(#[$fattr])*
                $(#[serde(rename = $key)])?
                $fvis $field: $fty,
            )*
        }
        $crate::config::language::settings!(@table $name {
            $($field: $fty $(as $key)? [] $(=> $help $(; each $each)?)?),*
        });
    };
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$fattr:meta])*
                $fvis:vis $field:ident : $fty:ty
                $(as $key:literal)?
                $(= $required:ident)?
                $(=> $help:literal $(; each $each:literal)?)?
            ),* $(,)?
        }
    ) => {
        $crate::config::language::settings!(@fields
            [$(#[$attr])* #[serde(deny_unknown_fields)] $vis struct $name]
            []
            $({ [$(#[$fattr])* $(#[serde(rename = $key)])?] [$fvis $field: $fty] [$($required)?] })*
        );
        $crate::config::language::settings!(@table $name {
            $($field: $fty $(as $key)? [$($required)?] $(=> $help $(; each $each)?)?),*
        });
    };
    // The fields one by one: serde's `default` on each that is not required.
    (@fields [$($head:tt)*] [$($done:tt)*]) => {
        $($head)* { $($done)* }
    };
    (@fields $head:tt [$($done:tt)*] { [$($attrs:tt)*] [$($field:tt)*] [] } $($rest:tt)*) => {
        $crate::config::language::settings!(@fields $head
            [$($done)* $($attrs)* #[serde(default)] $($field)*,] $($rest)*);
    };
    (@fields $head:tt [$($done:tt)*] { [$($attrs:tt)*] [$($field:tt)*] [required] } $($rest:tt)*) => {
        $crate::config::language::settings!(@fields $head
            [$($done)* $($attrs)* $($field)*,] $($rest)*);
    };
    (@table $name:ident {
        $($field:ident : $fty:ty $(as $key:literal)? [$($required:ident)?] $(=> $help:literal $(; each $each:literal)?)?),*
    }) => {
        impl $name {
            /// Every key of the mapping, in the order of the fields.
            pub const KEYS: &'static [$crate::config::language::Key] = &[
                $($crate::config::language::Key {
                    name: $crate::config::language::settings!(@name $field $($key)?),
                    kind: <$fty as $crate::config::language::Setting>::KIND,
                    required: $crate::config::language::marked(&[$(stringify!($required)),*]),
                    help: $crate::config::language::settings!(@some $($help)?),
                    each: $crate::config::language::settings!(@some $($($each)?)?),
                    choices: <$fty as $crate::config::language::Setting>::CHOICES,
                }),*
            ];
        }

        impl $crate::config::language::Setting for $name {
            const KIND: $crate::config::language::Kind =
                $crate::config::language::Kind::Settings($name::KEYS);
        }
    };
    (@name $field:ident) => { stringify!($field) };
    (@name $field:ident $key:literal) => { $key };
    (@some) => { None };
    (@some $text:literal) => { Some($text) };
}
pub(crate) use settings;

/// Declares an enum of words (`Type::WORDS`, `Type::ALL`, `as_str`) and its [`Setting`], a
/// choice of those words. Each variant reads `/// docs, #[attributes] Name = "word" [=> "help"]`;
/// the help stands beside the word in what the setting accepts (`word (help)`).
macro_rules! choices {
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vattr:meta])*
                $variant:ident = $word:literal $(=> $help:literal)?
            ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        $vis enum $name {
            $(
                $(#[$vattr])*
                #[serde(rename = $word)]
                $variant,
            )*
        }

        impl $name {
            /// The words the stack file writes, in the order of the declaration.
            pub const WORDS: &'static [&'static str] = &[$($word),*];
            /// Every variant, in the order of the declaration.
            // Every choice gets the same surface; not every one uses all of it.
            #[allow(dead_code)]
            pub const ALL: [$name; $name::WORDS.len()] = [$($name::$variant),*];

            /// The word the stack file writes.
            #[allow(dead_code)]
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),*
                }
            }
        }

        impl $crate::config::language::Setting for $name {
            const KIND: $crate::config::language::Kind =
                $crate::config::language::Kind::Choice($name::WORDS);
            const CHOICES: &'static [$crate::config::language::Choice] = &[
                $($crate::config::language::Choice {
                    word: $word,
                    help: $crate::config::language::settings!(@some $($help)?),
                }),*
            ];
        }
    };
}
pub(crate) use choices;
