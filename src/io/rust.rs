//! A trained network as Rust source: a `static` that compiles back into the
//! same network, bit for bit, with no parser at run time (feature `std`).
//!
//! Every layer of this crate has a `const fn` constructor
//! ([`Dense::from_columns`](crate::Dense::from_columns),
//! [`LeakyRelu::new`](crate::LeakyRelu::new), …) or is a unit struct, so the
//! generated value can live in flash on a microcontroller.
//!
//! ```
//! use staticnet::io::rust::to_rust;
//! use staticnet::{Dense, Relu};
//!
//! let net = (Dense::<2, 1>::from_columns([[0.5], [-0.25]], [1.0]), Relu);
//! let src = to_rust(&net, "NET").unwrap();
//! assert!(src.contains("pub static NET: (staticnet::Dense<2, 1, f32>, staticnet::Relu,) ="));
//! assert!(src.contains("staticnet::Dense::<2, 1, f32>::from_columns([[0.5], [-0.25]], [1.0])"));
//! ```

use std::fmt::Write as _;
use std::string::{String, ToString};
use std::vec::Vec;

use crate::{Layer, Node, Params, Scalar};

/// Why a network could not be written as Rust source.
#[derive(Debug, Clone, PartialEq)]
pub enum CodegenError {
    /// A layer defined outside this crate: its constructor is unknown.
    Unsupported {
        /// Its position (0-based, nested tuples flattened).
        index: usize,
        /// Its type name.
        name: &'static str,
    },
    /// The static's name is not a Rust identifier.
    BadName(String),
}

impl core::fmt::Display for CodegenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CodegenError::Unsupported { index, name } => {
                write!(
                    f,
                    "layer {index} ({name}) is not a staticnet layer; its constructor is unknown"
                )
            }
            CodegenError::BadName(n) => write!(f, "{n:?} is not a Rust identifier"),
        }
    }
}

impl std::error::Error for CodegenError {}

/// A literal of type `T` that parses back to exactly `v` (Rust prints the
/// shortest decimal that round-trips).
fn literal<T: Scalar>(v: T) -> String {
    let x = v.as_f64();
    if x.is_nan() {
        return std::format!("{}::NAN", T::NAME);
    }
    if x.is_infinite() {
        let sign = if x > 0.0 { "" } else { "NEG_" };
        return std::format!("{}::{sign}INFINITY", T::NAME);
    }
    if size_of::<T>() == 4 {
        std::format!("{:?}", x as f32)
    } else {
        std::format!("{x:?}")
    }
}

/// Writes `net` as `pub static NAME: TYPE = VALUE;`, where `TYPE` spells the
/// network's type (nested tuples kept) and `VALUE` its parameters, exactly.
pub fn to_rust<T: Scalar, N: Params<T>>(net: &N, name: &str) -> Result<String, CodegenError> {
    let ident = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    if !ident {
        return Err(CodegenError::BadName(name.to_string()));
    }
    let mut params = Vec::with_capacity(N::NUM_PARAMS);
    net.visit(&mut |p| params.extend_from_slice(p));
    let mut next = params.into_iter();
    let t = T::NAME;

    let (mut ty, mut value) = (String::new(), String::new());
    let mut index = 0;
    let mut depth = 0usize;
    let mut error = None;
    net.structure(&mut |node| {
        let indent = "    ".repeat(depth);
        match node {
            Node::Open => {
                ty.push('(');
                let _ = writeln!(value, "{}(", if depth == 0 { "" } else { &indent });
                depth += 1;
            }
            Node::Close => {
                depth -= 1;
                ty.push_str("), ");
                let _ = write!(value, "{})", "    ".repeat(depth));
                value.push_str(if depth == 0 { "" } else { ",\n" });
            }
            Node::Layer(layer) => {
                let (lt, lv) = match layer {
                    Layer::Dense { inputs, outputs } => {
                        let mut v = std::format!(
                            "staticnet::Dense::<{inputs}, {outputs}, {t}>::from_columns(["
                        );
                        for i in 0..inputs {
                            v.push('[');
                            for o in 0..outputs {
                                let sep = if o + 1 < outputs { ", " } else { "" };
                                let _ = write!(v, "{}{sep}", literal(next.next().unwrap()));
                            }
                            v.push_str(if i + 1 < inputs { "], " } else { "]" });
                        }
                        v.push_str("], [");
                        for o in 0..outputs {
                            let sep = if o + 1 < outputs { ", " } else { "" };
                            let _ = write!(v, "{}{sep}", literal(next.next().unwrap()));
                        }
                        v.push_str("])");
                        (
                            std::format!("staticnet::Dense<{inputs}, {outputs}, {t}>"),
                            v,
                        )
                    }
                    Layer::LeakyRelu { slope } => (
                        std::format!("staticnet::LeakyRelu<{t}>"),
                        std::format!(
                            "staticnet::LeakyRelu::<{t}>::new({})",
                            literal(T::of_f64(slope))
                        ),
                    ),
                    Layer::Elu { alpha } => (
                        std::format!("staticnet::Elu<{t}>"),
                        std::format!("staticnet::Elu::<{t}>::new({})", literal(T::of_f64(alpha))),
                    ),
                    Layer::Custom { name, .. } => {
                        error.get_or_insert(CodegenError::Unsupported { index, name });
                        (String::new(), String::new())
                    }
                    unit => {
                        let s = std::format!("staticnet::{unit}");
                        (s.clone(), s)
                    }
                };
                index += 1;
                ty.push_str(&lt);
                if depth > 0 {
                    ty.push_str(", ");
                    let _ = writeln!(value, "{indent}{lv},");
                } else {
                    value.push_str(&lv);
                }
            }
        }
    });
    if let Some(e) = error {
        return Err(e);
    }
    let ty = ty.replace(", )", ",)").trim_end_matches(", ").to_string();
    Ok(std::format!(
        "// Generated by staticnet::io::rust::to_rust: {} parameters in {t}.\n\
         #[rustfmt::skip]\n\
         #[allow(clippy::type_complexity, clippy::excessive_precision)]\n\
         pub static {name}: {ty} = {value};\n",
        N::NUM_PARAMS
    ))
}
