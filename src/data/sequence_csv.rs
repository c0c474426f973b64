//! Loading time-series CSV files, `c{channel}_t{step}` columns then a class,
//! into typed sequences (feature `std`).
//!
//! The layout (the UCR/UEA archives' series exported one sample per row) is
//! channel-major: all `L` steps of channel 0, then all steps of channel 1,
//! …, then `target`, a class index:
//!
//! ```text
//! c0_t0,c0_t1,c0_t2,c1_t0,c1_t1,c1_t2,target
//! 0.1,0.2,0.3,10,20,30,1
//! ```
//!
//! Column `c·L + t + 1` (counted from 1) lands in `data[0][t][c]` of a
//! [`Seq<T, C, L>`]: the loaded sample is stored step by step, as the
//! network reads it.

use std::path::Path;
use std::string::String;

use super::csv_loader::{in_file, read_table, shorten};
use super::{CsvError, CsvErrorKind, SeqRows};
use crate::Scalar;
use crate::sequence::Seq;

/// The name column `k` (counted from 0) of a file of `C` channels of `L`
/// steps must have, written into `name`.
fn column_name<const C: usize, const L: usize>(k: usize, name: &mut String) {
    use core::fmt::Write;
    name.clear();
    if k < C * L {
        let _ = write!(name, "c{}_t{}", k / L, k % L);
    } else {
        name.push_str("target");
    }
}

/// Checks every header name against the layout, naming the first wrong one.
fn check_header<const C: usize, const L: usize>(
    header: &csv::StringRecord,
) -> Result<(), CsvError> {
    let mut expected = String::new();
    for (k, found) in header.iter().enumerate() {
        column_name::<C, L>(k, &mut expected);
        if found.trim() != expected {
            return Err(CsvErrorKind::Header {
                column: k + 1,
                found: shorten(found),
                expected,
            }
            .into());
        }
    }
    Ok(())
}

/// Reads sequences of `C` channels of `L` steps, each with a class index,
/// from CSV text: a header `c0_t0,…,c0_t{L−1},c1_t0,…,c{C−1}_t{L−1},target`
/// (channel-major: all steps of channel 0 first), then one sample per line.
/// Field `c·L + t` of a line (counted from 0) becomes `data[0][t][c]`.
///
/// ```
/// use staticnet::data::read_sequences;
///
/// let text = "c0_t0,c0_t1,c0_t2,c1_t0,c1_t1,c1_t2,target\n\
///             0.1,0.2,0.3,10,20,30,1\n";
/// let rows = read_sequences::<f32, 2, 3>(text.as_bytes()).unwrap();
/// let (x, class) = &rows[0];
/// assert_eq!(x.data[0][0], [0.1, 10.0]); // step 0: channel 0, channel 1
/// assert_eq!(x.channel(0, 1), [10.0, 20.0, 30.0]);
/// assert_eq!(*class, 1);
///
/// // A file of another shape is caught at its header.
/// let err = read_sequences::<f32, 3, 2>(text.as_bytes()).unwrap_err();
/// assert!(err.to_string().starts_with(
///     r#"line 1, column 3: the header names "c0_t2" where "c1_t0" belongs"#
/// ));
/// ```
///
/// # Errors
///
/// A [`CsvError`], with the line and column counted from 1 (the header is
/// line 1), as [`read_csv`](super::read_csv)'s:
/// [`MissingHeader`](CsvErrorKind::MissingHeader) when the first line holds
/// numbers; [`ColumnCount`](CsvErrorKind::ColumnCount) for a line (the
/// header included) without `C·L + 1` fields, counting `C·L` inputs and a
/// target; [`Header`](CsvErrorKind::Header) naming the first header column
/// that is not the layout's name (a file of another shape or order with as
/// many columns); [`Value`](CsvErrorKind::Value) for a value that is not a
/// finite number (or is beyond `T`'s range) or a target that is not a class
/// index; [`Malformed`](CsvErrorKind::Malformed) for text that is not
/// UTF-8 or not CSV; [`Io`](CsvErrorKind::Io) for a failed read.
pub fn read_sequences<T: Scalar, const C: usize, const L: usize>(
    reader: impl std::io::Read,
) -> Result<SeqRows<T, C, L, usize>, CsvError> {
    read_table(reader, C * L, 1, check_header::<C, L>, |row| {
        let mut x = Seq::<T, C, L>::zeros();
        for c in 0..C {
            for t in 0..L {
                x.data[0][t][c] = row.number(c * L + t)?;
            }
        }
        Ok((x, row.target::<T, usize>(C * L)?))
    })
}

/// [`read_sequences`] from a file; an error names the file.
///
/// ```no_run
/// use staticnet::data::load_sequences;
///
/// // BasicMotions: 6 channels (accelerometer, gyroscope) of 100 steps.
/// let train = load_sequences::<f32, 6, 100>("data/basicmotions_train.csv")?;
/// println!("{} samples, class of the first: {}", train.len(), train[0].1);
/// # Ok::<(), staticnet::data::CsvError>(())
/// ```
///
/// # Errors
///
/// As [`read_sequences`], with [`CsvError::path`] set.
pub fn load_sequences<T: Scalar, const C: usize, const L: usize>(
    path: impl AsRef<Path>,
) -> Result<SeqRows<T, C, L, usize>, CsvError> {
    in_file(path.as_ref(), read_sequences)
}
