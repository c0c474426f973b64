//! Saving and loading to a path (feature `std`).

use std::path::Path;
use std::vec;

use super::{Error, load, save, saved_len};
use crate::{Params, Scalar};

/// Why a file could not be saved or loaded.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // `Error` is large by design (see `io`).
pub enum FileError {
    /// The file could not be read or written.
    Io(std::io::Error),
    /// The bytes were not valid for this network (nothing was changed).
    Format(Error),
}

impl core::fmt::Display for FileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FileError::Io(e) => write!(f, "{e}"),
            FileError::Format(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FileError::Io(e) => Some(e),
            FileError::Format(e) => Some(e),
        }
    }
}

/// Writes the network's parameters to a file (see [`save`]).
pub fn save_file<T: Scalar, N: Params<T>>(
    net: &N,
    path: impl AsRef<Path>,
) -> Result<(), FileError> {
    let mut buf = vec![0u8; saved_len(net)];
    save(net, &mut buf).map_err(FileError::Format)?;
    std::fs::write(path, buf).map_err(FileError::Io)
}

/// Reads a file written by [`save_file`] into the network (see [`load`]):
/// every check passes before a single parameter changes.
pub fn load_file<T: Scalar, N: Params<T>>(
    net: &mut N,
    path: impl AsRef<Path>,
) -> Result<(), FileError> {
    let bytes = std::fs::read(path).map_err(FileError::Io)?;
    load(net, &bytes).map_err(FileError::Format)
}
