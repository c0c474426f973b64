//! Saving and loading to a path (feature `std`).

use std::path::{Path, PathBuf};
use std::vec;

use super::{Error, load, save, saved_len};
use crate::{Params, Scalar};

/// Why a file could not be saved or loaded: each variant names the path.
///
/// ```
/// use staticnet::io::{self, FileError};
/// use staticnet::{Dense, Params};
///
/// let mut net = Dense::<2, 1>::zeros();
/// let err = io::load_file(&mut net, "no/such/model.bin").unwrap_err();
/// assert!(matches!(err, FileError::Read { .. }));
/// assert!(err.to_string().starts_with("cannot read no/such/model.bin: "));
/// ```
#[derive(Debug)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // `Error` is large by design (see `io`).
pub enum FileError {
    /// The file could not be read (nothing was changed).
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file could not be written.
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file's bytes were not valid for this network (nothing was
    /// changed), or the network could not be saved.
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        error: Error,
    },
}

impl FileError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            FileError::Read { path, .. }
            | FileError::Write { path, .. }
            | FileError::Format { path, .. } => path,
        }
    }
}

impl core::fmt::Display for FileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FileError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            FileError::Write { path, source } => {
                write!(f, "cannot write {}: {source}", path.display())
            }
            FileError::Format { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FileError::Read { source, .. } | FileError::Write { source, .. } => Some(source),
            FileError::Format { error, .. } => Some(error),
        }
    }
}

/// Writes the network's parameters to a file (see [`save`]).
pub fn save_file<T: Scalar, N: Params<T>>(
    net: &N,
    path: impl AsRef<Path>,
) -> Result<(), FileError> {
    let path = path.as_ref();
    let format = |error| FileError::Format {
        path: path.to_path_buf(),
        error,
    };
    // `save` into nothing checks the network (its declared value count
    // against its tensors) before the buffer is sized: a `Params` impl that
    // declares more values than it has cannot ask for an impossible
    // allocation.
    let needed = match save(net, &mut []) {
        Err(Error::BufferTooSmall { needed, .. }) => needed,
        Err(error) => return Err(format(error)),
        Ok(n) => n,
    };
    debug_assert_eq!(needed, saved_len(net));
    let mut buf = vec![0u8; needed];
    save(net, &mut buf).map_err(format)?;
    std::fs::write(path, buf).map_err(|source| FileError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a file written by [`save_file`] into the network (see [`load`]):
/// every check passes before a single parameter changes.
pub fn load_file<T: Scalar, N: Params<T>>(
    net: &mut N,
    path: impl AsRef<Path>,
) -> Result<(), FileError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| FileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load(net, &bytes).map_err(|error| FileError::Format {
        path: path.to_path_buf(),
        error,
    })
}
