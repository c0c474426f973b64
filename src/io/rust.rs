//! A trained network as Rust source: a `static` that compiles back into the
//! same network, bit for bit, with no parser at run time (feature `std`).
//!
//! Every layer writes itself ([`Params::rust_type`], [`Params::rust_value`]),
//! and every layer of this crate has a `const fn` constructor
//! ([`Dense::from_columns`](crate::Dense::from_columns),
//! [`LeakyRelu::new`](crate::LeakyRelu::new), …) or is a unit struct, so the
//! generated value can live in flash on a microcontroller. A quantised
//! network writes itself the same way:
//! [`Quantized::to_rust`](crate::quant::Quantized::to_rust).
//!
//! ```
//! use staticnet::io::rust::to_rust;
//! use staticnet::{Dense, Relu};
//!
//! let net = (Dense::<2, 1>::from_columns([[0.5], [-0.25]], [1.0]), Relu);
//! let src = to_rust(&net, "NET").unwrap();
//! assert!(src.contains("pub static NET: (staticnet::Dense<2, 1, f32>, staticnet::Relu) ="));
//! assert!(src.contains("staticnet::Dense::<2, 1, f32>::from_columns([[0.5], [-0.25]], [1.0])"));
//! ```

use std::string::String;
use std::vec::Vec;

use super::Name;
use crate::params::RustSource;
use crate::{Params, Scalar};

/// Why a network could not be written as Rust source.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CodegenError {
    /// A layer that does not write itself as Rust source (its
    /// [`Params::rust_value`] is the default).
    Unsupported {
        /// Its kind ([`Layer::KIND`](crate::Layer::KIND)).
        kind: &'static str,
    },
    /// The static's name is not a Rust identifier that can name a
    /// `static`.
    BadName {
        /// The name given (its first [`Name::CAPACITY`] bytes).
        name: Name,
        /// What is wrong with it.
        problem: NameProblem,
    },
    /// A layer's [`Params::rust_type`] or [`Params::rust_value`] returned
    /// an error (writing into a `String` does not fail, so the layer's
    /// impl did).
    LayerFailed,
}

/// What makes a name unfit for a `static` (see [`CodegenError::BadName`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameProblem {
    /// The name is empty.
    Empty,
    /// The name starts with a digit.
    StartsWithDigit,
    /// The name holds a character other than ASCII letters, digits and
    /// `_`.
    Character {
        /// The first such character.
        found: char,
        /// Its byte offset in the name.
        at: usize,
    },
    /// The name is a Rust keyword (strict or reserved, edition 2024), or
    /// `_`.
    Keyword,
}

impl core::fmt::Display for CodegenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CodegenError::Unsupported { kind } => write!(
                f,
                "the layer {kind:?} has no Rust form: implement `Params::rust_type` and \
                 `Params::rust_value` for it"
            ),
            CodegenError::BadName { name, problem } => {
                write!(f, "{name:?} cannot name a static: ")?;
                match problem {
                    NameProblem::Empty => f.write_str("it is empty")?,
                    NameProblem::StartsWithDigit => f.write_str("it starts with a digit")?,
                    NameProblem::Character { found, at } => {
                        write!(f, "it holds {found:?} at byte {at}")?
                    }
                    NameProblem::Keyword if name.is("_") => {
                        f.write_str("`_` is Rust's placeholder, not a name")?
                    }
                    NameProblem::Keyword => f.write_str("it is a Rust keyword")?,
                }
                f.write_str(
                    "; write it in UPPER_SNAKE_CASE, with ASCII letters, digits and `_`, not \
                     starting with a digit",
                )?;
                if !name.is_cut() {
                    write!(f, ", e.g. {}", suggestion(name))?;
                }
                Ok(())
            }
            CodegenError::LayerFailed => f.write_str(
                "a layer's `Params::rust_type` or `Params::rust_value` returned an error \
                 (writing into a String does not fail): the layer's impl is at fault",
            ),
        }
    }
}

impl std::error::Error for CodegenError {}

/// A name in UPPER_SNAKE_CASE close to `name`: ASCII letters and digits
/// upper-cased, anything else `_`, `MODEL_` before a leading digit, `MODEL`
/// for nothing usable.
fn suggestion(name: &Name) -> String {
    let mut out = String::new();
    for c in String::from_utf8_lossy(name.kept()).chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_');
    if out.is_empty() {
        String::from("MODEL")
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        std::format!("MODEL_{out}")
    } else {
        String::from(out)
    }
}

/// Rust's strict and reserved keywords (edition 2024): none can name a
/// `static`.
const KEYWORDS: [&str; 52] = [
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "gen", "macro",
    "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Writes `net` as `pub static NAME: TYPE = VALUE;`, where `TYPE` spells the
/// network's type (nested tuples kept) and `VALUE` its parameters and
/// buffers, exactly. Every layer writes its own part
/// ([`Params::rust_type`], [`Params::rust_value`]).
///
/// `name` must be a Rust identifier that is not a keyword: ASCII letters,
/// digits and `_`, not starting with a digit (UPPER_SNAKE_CASE, as a
/// `static` is written); any other name is [`CodegenError::BadName`].
///
/// ```
/// use staticnet::io::rust::{CodegenError, NameProblem, to_rust};
/// use staticnet::Relu;
///
/// let err = to_rust::<f32, _>(&Relu, "static").unwrap_err();
/// assert!(matches!(err, CodegenError::BadName { problem: NameProblem::Keyword, .. }));
/// assert_eq!(
///     err.to_string(),
///     "\"static\" cannot name a static: it is a Rust keyword; write it in UPPER_SNAKE_CASE, \
///      with ASCII letters, digits and `_`, not starting with a digit, e.g. STATIC"
/// );
/// ```
pub fn to_rust<T: Scalar, N: Params<T>>(net: &N, name: &str) -> Result<String, CodegenError> {
    check_ident(name)?;
    let (mut ty, mut value) = (String::new(), String::new());
    let mut src = RustSource::new(&mut ty);
    N::rust_type(&mut src).map_err(|_| CodegenError::LayerFailed)?;
    let unsupported = src.unsupported_kind();
    let mut src = RustSource::new(&mut value);
    net.rust_value(&mut src)
        .map_err(|_| CodegenError::LayerFailed)?;
    if let Some(kind) = unsupported.or(src.unsupported_kind()) {
        return Err(CodegenError::Unsupported { kind });
    }
    let ty = tidy_tuples(&ty);
    let buffers = match N::NUM_BUFFERS {
        0 => String::new(),
        n => std::format!(" and {n} buffer values"),
    };
    Ok(std::format!(
        "// Generated by staticnet::io::rust::to_rust: {} parameters{buffers} in {}.\n\
         #[rustfmt::skip]\n\
         #[allow(clippy::type_complexity, clippy::excessive_precision)]\n\
         pub static {name}: {ty} = {value};\n",
        N::NUM_PARAMS,
        T::NAME
    ))
}

/// `Ok` if `name` can name a `static`: ASCII letters, digits and `_`, not
/// starting with a digit, not a keyword. Shared with
/// [`Quantized::to_rust`](crate::quant::Quantized::to_rust).
pub(crate) fn check_ident(name: &str) -> Result<(), CodegenError> {
    let bad = |problem| {
        Err(CodegenError::BadName {
            name: Name::from(name),
            problem,
        })
    };
    if name.is_empty() {
        return bad(NameProblem::Empty);
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return bad(NameProblem::StartsWithDigit);
    }
    if let Some((at, found)) = name
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
    {
        return bad(NameProblem::Character { found, at });
    }
    if name == "_" || KEYWORDS.contains(&name) {
        return bad(NameProblem::Keyword);
    }
    Ok(())
}

/// `(A, B, )` → `(A, B)`, keeping `(A,)` for a one-element tuple. Works on
/// bytes and changes only ASCII ones, so any text a layer writes (non-ASCII
/// included) passes through intact.
pub(crate) fn tidy_tuples(ty: &str) -> String {
    let b = ty.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b", )") {
            // Count the elements of the tuple this closes: one element
            // keeps its comma.
            let mut depth = 0i32;
            let mut more = false;
            for &c in b[..i].iter().rev() {
                match c {
                    b')' | b'>' => depth = depth.saturating_add(1),
                    b'(' | b'<' if depth == 0 => break,
                    b'(' | b'<' => depth -= 1, // depth > 0 here
                    b',' if depth == 0 => more = true,
                    _ => {}
                }
            }
            out.extend_from_slice(if !more { b",)" } else { b")" });
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    // Only ASCII bytes were replaced: the text is still UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
