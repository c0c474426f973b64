//! Quantised (int8) networks to and from bytes, in the weights file's format
//! with scalar type `3` (`no_std`).
//!
//! The header, the description records, the value count and the CRC-32 are
//! those of [the f32 format](super); the description lists each int8
//! layer's tensors ([`QLayer::tensors`]) with their type in the name
//! (`weight (i8)`, `bias (i32)`, `input_scale (f32)`), and the values follow
//! in that order, each in its own type, little-endian. [`load`] checks
//! everything (that the file describes this network, tensor by tensor, its
//! length, its checksum, that every scale is finite) before it changes a
//! value, with the same [`Error`]s as the `f32` format.
//!
//! ```
//! use nalgebra::SVector;
//! use staticnet::io::{self, int8};
//! use staticnet::quant::{self, Calibration};
//! use staticnet::{Dense, Relu};
//!
//! let net = (Dense::<2, 3>::from_rows([[1.0, -1.0], [0.5, 0.5], [0.0, 2.0]], [0.0; 3]), Relu, Dense::<3, 1>::from_rows([[1.0, -1.0, 0.5]], [0.1]));
//! let data = [(SVector::from([1.0, 0.0]), 0), (SVector::from([-1.0, 0.5]), 0)];
//! let q = quant::quantize(&net, &data[..], Calibration::MinMax).unwrap();
//!
//! let mut buf = [0u8; 1024];
//! let n = int8::save(&q, &mut buf).unwrap();
//! // Into a network of the same shape with other weights:
//! let other = (Dense::<2, 3>::from_rows([[0.5; 2]; 3], [0.0; 3]), Relu, Dense::<3, 1>::from_rows([[1.0; 3]], [0.0]));
//! let mut copy = quant::quantize(&other, &data[..], Calibration::MinMax).unwrap();
//! assert_ne!(copy, q);
//! int8::load(&mut copy, &buf[..n]).unwrap();
//! assert_eq!(copy, q);
//!
//! // The f32 loader says what the file holds.
//! let mut f32_net = net.clone();
//! let err = io::load(&mut f32_net, &buf[..n]).unwrap_err();
//! assert_eq!(err, io::Error::ScalarType { expected: "f32", found: "int8" });
//! assert_eq!(
//!     err.to_string(),
//!     "the file holds int8 values, but the network is f32: it is a quantised network's file, \
//!      read it with io::int8::load into a quant::Quantized network of the same shape"
//! );
//! ```

use super::{Describe, Error, check_with, le, save_with};
use crate::params::Node;
use crate::quant::{QData, QDataMut, QLayer};

/// The scalar-type code of an int8 file.
const CODE: u8 = 3;

/// (number of values, bytes of values) of the network's tensors.
fn sizes<N: QLayer>(net: &N) -> (u64, usize) {
    let (mut count, mut bytes) = (0u64, 0usize);
    net.tensors(&mut |_, _, data| {
        count = count.saturating_add(data.len() as u64);
        // Tensors in memory: 4 bytes per value of an `i32`/`f32` slice fit.
        bytes = bytes.saturating_add(match data {
            QData::I8(v) => v.len(),
            QData::I32(v) => 4 * v.len(),
            QData::F32(v) => 4 * v.len(),
        });
    });
    (count, bytes)
}

fn describe<N: QLayer>(net: &N) -> impl FnMut(&mut dyn FnMut(Node)) + '_ {
    move |f| net.describe(f)
}

/// The first `n` bytes of `rest` (fewer if it is shorter), moving `rest`
/// past them.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = rest.split_at(n.min(rest.len()));
    *rest = tail;
    head
}

/// [`take`] for a buffer being written.
fn take_mut<'a>(rest: &mut &'a mut [u8], n: usize) -> &'a mut [u8] {
    let all = core::mem::take(rest);
    let (head, tail) = all.split_at_mut(n.min(all.len()));
    *rest = tail;
    head
}

/// The number of bytes [`save`] writes for this network.
pub fn saved_len<N: QLayer>(net: &N) -> usize {
    let mut buf = [0u8; 0];
    match save(net, &mut buf) {
        Err(Error::BufferTooSmall { needed, .. }) => needed,
        _ => 0,
    }
}

/// Writes the network's tensors, with the header and its description, into
/// `buf`; returns the number of bytes written ([`saved_len`]). On an error
/// the buffer's content is unspecified.
pub fn save<N: QLayer>(net: &N, buf: &mut [u8]) -> Result<usize, Error> {
    let (count, bytes) = sizes(net);
    let mut d = describe(net);
    save_with(
        CODE,
        &mut d as Describe<'_>,
        count,
        bytes,
        &mut |out| {
            let mut rest = out;
            net.tensors(&mut |_, _, data| match data {
                QData::I8(v) => {
                    for (dst, &x) in take_mut(&mut rest, v.len()).iter_mut().zip(v) {
                        *dst = x as u8;
                    }
                }
                QData::I32(v) => {
                    let dst = take_mut(&mut rest, 4 * v.len());
                    for (dst, x) in dst.chunks_exact_mut(4).zip(v) {
                        dst.copy_from_slice(&x.to_le_bytes());
                    }
                }
                QData::F32(v) => {
                    let dst = take_mut(&mut rest, 4 * v.len());
                    for (dst, x) in dst.chunks_exact_mut(4).zip(v) {
                        dst.copy_from_slice(&x.to_le_bytes());
                    }
                }
            });
        },
        buf,
    )
}

/// Checks `bytes` against the network's description and, only if every check
/// passes, overwrites the network's tensors with them.
///
/// On an error the network is unchanged, bit for bit.
pub fn load<N: QLayer>(net: &mut N, bytes: &[u8]) -> Result<(), Error> {
    let (count, len) = sizes(&*net);
    let start = {
        let mut d = describe(&*net);
        check_with(
            CODE,
            "int8",
            N::KIND,
            &mut d as Describe<'_>,
            count,
            len,
            bytes,
        )?
    };
    // `check_with` made sure exactly `len` bytes of values follow `start`.
    let values = bytes.get(start..).unwrap_or_default();
    // Every scale must be finite before anything is written.
    let (mut rest, mut index, mut bad) = (values, 0usize, None);
    net.tensors(&mut |name, _, data| match data {
        QData::I8(v) => {
            take(&mut rest, v.len());
            index += v.len();
        }
        QData::I32(v) => {
            take(&mut rest, 4 * v.len());
            index += v.len();
        }
        QData::F32(v) => {
            let b = take(&mut rest, 4 * v.len());
            if bad.is_none()
                && let Some(k) = b
                    .chunks_exact(4)
                    .position(|b| !f32::from_le_bytes(le(b)).is_finite())
            {
                bad = Some(Error::NonFinite {
                    index: index + k,
                    tensor: name,
                });
            }
            index += v.len();
        }
    });
    if let Some(e) = bad {
        return Err(e);
    }
    let mut rest = values;
    net.tensors_mut(&mut |_, _, data| match data {
        QDataMut::I8(v) => {
            let n = v.len();
            for (x, &b) in v.iter_mut().zip(take(&mut rest, n)) {
                *x = b as i8;
            }
        }
        QDataMut::I32(v) => {
            let n = 4 * v.len();
            for (x, b) in v.iter_mut().zip(take(&mut rest, n).chunks_exact(4)) {
                *x = i32::from_le_bytes(le(b));
            }
        }
        QDataMut::F32(v) => {
            let n = 4 * v.len();
            for (x, b) in v.iter_mut().zip(take(&mut rest, n).chunks_exact(4)) {
                *x = f32::from_le_bytes(le(b));
            }
        }
    });
    Ok(())
}
