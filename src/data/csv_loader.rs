//! Loading `f0,…,f{n−1},target` CSV files into typed rows (feature `std`).

use std::fmt;
use std::path::Path;
use std::string::String;
use std::vec::Vec;

use nalgebra::SVector;

use crate::Scalar;

/// Why a CSV file could not be loaded. Lines are counted from 1, the header
/// being line 1; columns from 1.
#[derive(Debug)]
pub enum CsvError {
    /// The file could not be read.
    Io(std::io::Error),
    /// A line has the wrong number of fields.
    ColumnCount {
        /// The line.
        line: u64,
        /// `I + 1`: the inputs and the target.
        expected: usize,
        /// What the line has.
        found: usize,
    },
    /// A field is not a number of the expected kind (or is NaN or infinite).
    Value {
        /// The line.
        line: u64,
        /// The column.
        column: usize,
        /// The column's name in the header.
        name: String,
        /// The field as written.
        text: String,
    },
    /// A line is not valid CSV (for example, not UTF-8).
    Malformed {
        /// The line.
        line: u64,
        /// The CSV reader's description.
        message: String,
    },
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvError::Io(e) => write!(f, "cannot read the CSV file: {e}"),
            CsvError::ColumnCount {
                line,
                expected,
                found,
            } => write!(
                f,
                "line {line}: expected {expected} columns ({} inputs and a target), found {found}",
                expected - 1
            ),
            CsvError::Value {
                line,
                column,
                name,
                text,
            } => write!(
                f,
                "line {line}, column {column} ({name}): cannot read {text:?} as a finite number{}",
                if name == "target" {
                    " (the target must be a class index 0, 1, 2, …)"
                } else {
                    ""
                }
            ),
            CsvError::Malformed { line, message } => write!(f, "line {line}: {message}"),
        }
    }
}

impl std::error::Error for CsvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CsvError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Reads rows `f0,…,f{I−1},target` (after a header line) into typed pairs
/// of an input vector and a class index.
///
/// ```
/// use staticnet::data::read_csv;
/// let text = "f0,f1,target\n0.5,1.0,1\n-2,3e-1,0\n";
/// let rows = read_csv::<f32, 2>(text.as_bytes()).unwrap();
/// assert_eq!(rows[1].0[1], 0.3);
/// assert_eq!(rows[0].1, 1);
///
/// let err = read_csv::<f32, 2>("f0,f1,target\n0.5,x,1\n".as_bytes()).unwrap_err();
/// assert_eq!(err.to_string(), r#"line 2, column 2 (f1): cannot read "x" as a finite number"#);
/// ```
pub fn read_csv<T: Scalar, const I: usize>(
    reader: impl std::io::Read,
) -> Result<Vec<(SVector<T, I>, usize)>, CsvError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let malformed = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        match e.into_kind() {
            csv::ErrorKind::Io(io) => CsvError::Io(io),
            kind => CsvError::Malformed {
                line,
                message: std::format!("{kind:?}"),
            },
        }
    };
    let header = csv.headers().map_err(malformed)?.clone();
    if header.len() != I + 1 {
        return Err(CsvError::ColumnCount {
            line: 1,
            expected: I + 1,
            found: header.len(),
        });
    }
    let mut rows = Vec::new();
    for record in csv.records() {
        let record = record.map_err(malformed)?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != I + 1 {
            return Err(CsvError::ColumnCount {
                line,
                expected: I + 1,
                found: record.len(),
            });
        }
        let bad = |column: usize| CsvError::Value {
            line,
            column: column + 1,
            name: header[column].into(),
            text: record[column].into(),
        };
        let mut x = SVector::<T, I>::zeros();
        for (k, v) in x.iter_mut().enumerate() {
            let value: f64 = record[k].trim().parse().map_err(|_| bad(k))?;
            if !value.is_finite() {
                return Err(bad(k));
            }
            *v = T::of_f64(value);
        }
        let target: usize = record[I].trim().parse().map_err(|_| bad(I))?;
        rows.push((x, target));
    }
    Ok(rows)
}

/// [`read_csv`] from a file.
pub fn load_csv<T: Scalar, const I: usize>(
    path: impl AsRef<Path>,
) -> Result<Vec<(SVector<T, I>, usize)>, CsvError> {
    read_csv(std::fs::File::open(path).map_err(CsvError::Io)?)
}
