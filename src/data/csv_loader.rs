//! Loading `f0,…,f{n−1},target` CSV files into typed rows (feature `std`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;

use nalgebra::SVector;

use super::Rows;
use crate::Scalar;

/// Why a CSV file could not be loaded: what went wrong ([`kind`]) and, for
/// [`load_csv`], [`load_csv_targets`] and
/// [`load_sequences`](super::load_sequences), in which file ([`path`]). Lines
/// are counted from 1, the header being line 1; columns from 1.
///
/// [`kind`]: CsvError::kind
/// [`path`]: CsvError::path
#[derive(Debug)]
pub struct CsvError {
    /// The file, when the error comes from one.
    pub path: Option<PathBuf>,
    /// What went wrong, and where in the file.
    pub kind: CsvErrorKind,
}

/// What went wrong in a CSV file (see [`CsvError`]).
#[derive(Debug)]
pub enum CsvErrorKind {
    /// The file could not be read.
    Io(std::io::Error),
    /// The first line holds numbers where the header's column names belong:
    /// the file has no header, and its first row would be lost.
    MissingHeader,
    /// A line has the wrong number of fields.
    ColumnCount {
        /// The line.
        line: u64,
        /// How many inputs a row must have.
        inputs: usize,
        /// How many target columns a row must have.
        targets: usize,
        /// What the line has.
        found: usize,
    },
    /// A field is not what its column needs.
    Value {
        /// The line.
        line: u64,
        /// The column.
        column: usize,
        /// The column's name in the header (at most 40 characters, with
        /// an ellipsis if it was longer).
        name: String,
        /// The field as written (at most 40 characters, with an ellipsis
        /// and the full length if it was longer).
        text: String,
        /// What the column needs.
        expected: Expected,
    },
    /// A column of the header (line 1) is not the name the layout needs: the
    /// sequence loaders ([`read_sequences`](super::read_sequences)) need
    /// `c{channel}_t{step}` for every step of channel 0, then of channel 1,
    /// …, then `target`, so a file of another shape or order with the same
    /// number of columns is caught before its values are misread.
    Header {
        /// The first column whose name is wrong.
        column: usize,
        /// Its name in the file (shortened as in [`Value`](CsvErrorKind::Value)).
        found: String,
        /// The name it must have.
        expected: String,
    },
    /// A line is not valid CSV text.
    Malformed {
        /// The line.
        line: u64,
        /// What is wrong, in words.
        message: String,
    },
}

/// What a CSV column needs (see [`CsvErrorKind::Value`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// A finite number.
    Number,
    /// A finite number within the scalar type's range (the name of the type).
    InRange(&'static str),
    /// A class index: 0, 1, 2, ….
    Class,
}

impl CsvError {
    fn new(kind: CsvErrorKind) -> Self {
        CsvError { path: None, kind }
    }

    /// What went wrong.
    pub fn kind(&self) -> &CsvErrorKind {
        &self.kind
    }
}

impl From<CsvErrorKind> for CsvError {
    fn from(kind: CsvErrorKind) -> Self {
        CsvError::new(kind)
    }
}

/// `text`, or its first 40 characters, an ellipsis and its length.
pub(super) fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        None => text.into(),
        Some((cut, _)) => std::format!("{}… ({} bytes)", &text[..cut], text.len()),
    }
}

impl fmt::Display for CsvErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvErrorKind::Io(e) => write!(f, "cannot read the CSV file: {e}"),
            CsvErrorKind::MissingHeader => f.write_str(
                "line 1 holds numbers, not column names: the file needs a header line \
                 (such as `f0,f1,target`) before the data; add one, or its first row is lost",
            ),
            CsvErrorKind::ColumnCount {
                line,
                inputs,
                targets,
                found,
            } => {
                let target = match targets {
                    1 => "a target".to_string(),
                    k => std::format!("{k} targets"),
                };
                write!(
                    f,
                    "line {line}: expected {} columns ({inputs} inputs and {target}), found {found}",
                    inputs + targets
                )
            }
            CsvErrorKind::Value {
                line,
                column,
                name,
                text,
                expected,
            } => {
                write!(f, "line {line}, column {column} ({name}): ")?;
                match expected {
                    Expected::Number => write!(f, "cannot read {text:?} as a finite number"),
                    Expected::Class => write!(
                        f,
                        "cannot read {text:?} as a class index (0, 1, 2, …); for a numeric target, load the file with `load_csv_targets`"
                    ),
                    Expected::InRange(scalar) => write!(
                        f,
                        "{text} is beyond the range of {scalar}; rescale the column or load it as f64"
                    ),
                }
            }
            CsvErrorKind::Header {
                column,
                found,
                expected,
            } => write!(
                f,
                "line 1, column {column}: the header names {found:?} where {expected:?} belongs \
                 (a sequence file's columns are c{{channel}}_t{{step}}, all steps of channel 0 \
                 first, then target): the file holds another shape or order"
            ),
            CsvErrorKind::Malformed { line, message } => write!(f, "line {line}: {message}"),
        }
    }
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}: ", path.display())?;
        }
        self.kind.fmt(f)
    }
}

impl std::error::Error for CsvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            CsvErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// A target a CSV row can end with: a class index (one column) or a vector
/// of `K` numbers (`K` columns).
pub(crate) trait CsvTarget<T: Scalar>: Sized {
    /// How many columns it takes.
    const COLUMNS: usize;
    /// Reads it from its fields, or says which one (counted from 0) is not
    /// what it should be.
    fn parse(fields: &[&str]) -> Result<Self, (usize, Expected)>;
}

impl<T: Scalar> CsvTarget<T> for usize {
    const COLUMNS: usize = 1;
    fn parse(fields: &[&str]) -> Result<Self, (usize, Expected)> {
        fields[0].trim().parse().map_err(|_| (0, Expected::Class))
    }
}

impl<T: Scalar, const K: usize> CsvTarget<T> for SVector<T, K> {
    const COLUMNS: usize = K;
    fn parse(fields: &[&str]) -> Result<Self, (usize, Expected)> {
        let mut t = SVector::<T, K>::zeros();
        for (k, v) in t.iter_mut().enumerate() {
            *v = number(fields[k]).map_err(|e| (k, e))?;
        }
        Ok(t)
    }
}

/// A field as a finite `T`.
fn number<T: Scalar>(field: &str) -> Result<T, Expected> {
    let value: f64 = field.trim().parse().map_err(|_| Expected::Number)?;
    if !value.is_finite() {
        return Err(Expected::Number);
    }
    let v = T::of_f64(value);
    if !v.is_finite() {
        return Err(Expected::InRange(T::NAME));
    }
    Ok(v)
}

fn malformed(e: csv::Error) -> CsvError {
    let line = e.position().map_or(0, |p| p.line());
    let message = e.to_string();
    CsvError::new(match e.into_kind() {
        csv::ErrorKind::Io(io) => CsvErrorKind::Io(io),
        csv::ErrorKind::Utf8 { pos, err } => CsvErrorKind::Malformed {
            line: pos.map_or(line, |p| p.line()),
            message: std::format!(
                "column {} is not valid UTF-8 (after its first {} bytes): save the file as UTF-8",
                err.field() + 1,
                err.valid_up_to()
            ),
        },
        _ => CsvErrorKind::Malformed { line, message },
    })
}

/// One data row of a CSV file being read, with the header's names: a field
/// that is not what its column needs becomes an error naming the line, the
/// column and its name.
pub(super) struct Row<'a> {
    header: &'a csv::StringRecord,
    record: &'a csv::StringRecord,
    line: u64,
}

impl Row<'_> {
    /// The error for field `k` (counted from 0), which is not `expected`.
    fn bad(&self, k: usize, expected: Expected) -> CsvError {
        CsvError::new(CsvErrorKind::Value {
            line: self.line,
            column: k + 1,
            name: shorten(&self.header[k]),
            text: shorten(&self.record[k]),
            expected,
        })
    }

    /// Field `k` (counted from 0) as a finite `T`.
    pub(super) fn number<T: Scalar>(&self, k: usize) -> Result<T, CsvError> {
        number(&self.record[k]).map_err(|e| self.bad(k, e))
    }

    /// The target of `Tg::COLUMNS` fields starting at field `k`.
    pub(super) fn target<T: Scalar, Tg: CsvTarget<T>>(&self, k: usize) -> Result<Tg, CsvError> {
        let fields: Vec<&str> = self.record.iter().skip(k).collect();
        Tg::parse(&fields).map_err(|(j, e)| self.bad(k + j, e))
    }
}

/// Reads a CSV text whose first line is a header and whose every line has
/// `inputs + targets` fields: checks that the header is there and has that
/// many names, then that `header` accepts them, then turns each row into a
/// value with `row`.
pub(super) fn read_table<R>(
    reader: impl std::io::Read,
    inputs: usize,
    targets: usize,
    header: impl FnOnce(&csv::StringRecord) -> Result<(), CsvError>,
    mut row: impl FnMut(&Row<'_>) -> Result<R, CsvError>,
) -> Result<Vec<R>, CsvError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let names = csv.headers().map_err(malformed)?.clone();
    let columns = inputs + targets;
    let count = |line: u64, found: usize| {
        CsvError::new(CsvErrorKind::ColumnCount {
            line,
            inputs,
            targets,
            found,
        })
    };
    if !names.is_empty() && names.iter().all(|h| h.trim().parse::<f64>().is_ok()) {
        return Err(CsvErrorKind::MissingHeader.into());
    }
    if names.len() != columns {
        return Err(count(1, names.len()));
    }
    header(&names)?;
    let mut rows = Vec::new();
    for record in csv.records() {
        let record = record.map_err(malformed)?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != columns {
            return Err(count(line, record.len()));
        }
        rows.push(row(&Row {
            header: &names,
            record: &record,
            line,
        })?);
    }
    Ok(rows)
}

/// Reads rows of `I` inputs and a target of `Tg::COLUMNS` columns.
fn read_rows<T: Scalar, const I: usize, Tg: CsvTarget<T>>(
    reader: impl std::io::Read,
) -> Result<Rows<T, I, Tg>, CsvError> {
    read_table(
        reader,
        I,
        Tg::COLUMNS,
        |_| Ok(()),
        |row| {
            let mut x = SVector::<T, I>::zeros();
            for (k, v) in x.iter_mut().enumerate() {
                *v = row.number(k)?;
            }
            Ok((x, row.target(I)?))
        },
    )
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
///
/// # Errors
///
/// A [`CsvError`] naming the line, the column and what it needs: a file
/// without a header line, a row with the wrong number of fields, a field
/// that is not a finite number (or is beyond `T`'s range), a target that is
/// not a class index, text that is not UTF-8, or a failed read.
pub fn read_csv<T: Scalar, const I: usize>(
    reader: impl std::io::Read,
) -> Result<Rows<T, I, usize>, CsvError> {
    read_rows(reader)
}

/// Reads rows `f0,…,f{I−1},t0,…,t{K−1}` (after a header line) into typed
/// pairs of an input vector and a vector of `K` numeric targets: the layout
/// of a regression data set.
///
/// ```
/// use staticnet::data::read_csv_targets;
/// let text = "x,y\n1.0,2.5\n2.0,4.5\n";
/// let rows = read_csv_targets::<f64, 1, 1>(text.as_bytes()).unwrap();
/// assert_eq!(rows[1].1[0], 4.5);
/// ```
///
/// # Errors
///
/// As [`read_csv`].
pub fn read_csv_targets<T: Scalar, const I: usize, const K: usize>(
    reader: impl std::io::Read,
) -> Result<Rows<T, I, SVector<T, K>>, CsvError> {
    read_rows(reader)
}

pub(super) fn in_file<R>(
    path: &Path,
    read: impl FnOnce(std::fs::File) -> Result<R, CsvError>,
) -> Result<R, CsvError> {
    let result = std::fs::File::open(path)
        .map_err(|e| CsvError::new(CsvErrorKind::Io(e)))
        .and_then(read);
    result.map_err(|mut e| {
        e.path = Some(path.to_path_buf());
        e
    })
}

/// [`read_csv`] from a file; an error names the file.
///
/// # Errors
///
/// As [`read_csv`], with [`CsvError::path`] set.
pub fn load_csv<T: Scalar, const I: usize>(
    path: impl AsRef<Path>,
) -> Result<Rows<T, I, usize>, CsvError> {
    in_file(path.as_ref(), read_csv)
}

/// [`read_csv_targets`] from a file; an error names the file.
///
/// # Errors
///
/// As [`read_csv`], with [`CsvError::path`] set.
pub fn load_csv_targets<T: Scalar, const I: usize, const K: usize>(
    path: impl AsRef<Path>,
) -> Result<Rows<T, I, SVector<T, K>>, CsvError> {
    in_file(path.as_ref(), read_csv_targets)
}
