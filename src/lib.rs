//! Neural networks whose shapes are types.
//!
//! A network is a tuple of layers, such as `(Dense<2, 8>, Tanh, Dense<8, 1>)`.
//! Every weight matrix is a statically sized nalgebra matrix, so the compiler
//! checks every shape and every product of the backward pass, and a shape
//! mistake fails to compile with a message naming the sizes that disagree.
//! The core is `#![no_std]`, allocates nothing, and runs on a microcontroller.
//!
//! # Quick start
//!
//! ```
//! use nalgebra::SVector;
//! use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
//! use staticnet::optim::Sgd;
//! use staticnet::prelude::*;
//! use staticnet::train::{Control, Trainer};
//!
//! // XOR: 2 inputs, 8 tanh units, 1 output logit. The shapes are the type.
//! type Net = (Dense<2, 8>, Tanh, Dense<8, 1>);
//!
//! let data = [([0.0, 0.0], 0.0), ([0.0, 1.0], 1.0), ([1.0, 0.0], 1.0), ([1.0, 1.0], 0.0)]
//!     .map(|(x, t)| (SVector::from(x), SVector::from([t])));
//!
//! let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
//! let mut net = Net::random(Init::Xavier, &mut rng);
//! Trainer::new(Sgd::new(0.5).momentum(0.9))
//!     .epochs(300)
//!     .batch_size::<4>()
//!     .fit(&mut net, &BinaryCrossEntropy, &data, &mut rng, |_, _| Control::Continue)
//!     .expect("training diverged");
//!
//! for (x, t) in &data {
//!     let p = Sigmoid.value(net.predict(x)[0]);
//!     assert_eq!(p.round(), t[0]);
//! }
//! // A shape mistake does not compile. `net.predict(&SVector::from([1.0, 2.0, 3.0]))`:
//! //     error[E0277]: `Dense<2, 8>` takes 2 inputs, but it is given 3
//! ```
//!
//! # Layout
//!
//! * [`Module`], [`Train`], [`Params`]: the traits every layer implements
//!   (inference; forward with a tape and backward; parameters as slices).
//! * [`Dense`] and the activations ([`Relu`], [`Tanh`], [`Softmax`], …).
//! * Tuples of layers are layers ([`network`]); [`Network`] has the methods
//!   you call on them: [`predict`](Network::predict),
//!   [`loss_and_grad`](Network::loss_and_grad), [`jacobian`](Network::jacobian).
//! * Losses ([`MeanSquared`], [`CrossEntropy`], [`BinaryCrossEntropy`],
//!   [`Huber`]) through the [`Loss`] trait.
//! * [`Init`]: Xavier, He and PyTorch's default initialisation from any
//!   [`rand::Rng`].
//! * Training: [`optim`] ([`Sgd`](optim::Sgd), [`Adam`](optim::Adam)),
//!   [`schedule`], [`sampling`], the [`train::Trainer`] fit loop over a
//!   [`data::Data`] set of vectors or sequences (CSV loading, splits, [`Standardize`] and
//!   [`Rescale`] as layers, so a saved model keeps its scaling).
//! * [`metrics`]: predictions, accuracy, confusion matrix, mean loss and
//!   regression scores over a data set of any size, batched on the stack,
//!   with one bound for generic code ([`metrics::Classifier`],
//!   [`metrics::Regressor`]).
//! * [`io`]: parameters to and from bytes in a checked format (`no_std`),
//!   files, Rust source for `static` models in flash, and PyTorch
//!   safetensors import.
//! * [`quant`]: post-training int8 quantisation (TensorFlow Lite's scheme)
//!   into a typed int8 network that runs on integer arithmetic only, for
//!   microcontrollers without an FPU.
//! * [`shape`]: the compile-time size checks and their messages.
//! * Sequences ([`sequence`]): a sample of `L` steps of `C` channels,
//!   [`sequence::Seq`], with [`Conv1d`] and [`DepthwiseConv1d`] (same,
//!   causal and valid padding, dilation, stride), pooling
//!   ([`GlobalAvgPool`], [`MaxPool1d`], [`LastStep`], [`Flatten`], …), the
//!   recurrent [`Gru`] and [`Lstm`] (PyTorch's equations, backpropagation
//!   through time), and [`stream`]: one step at a time with a state the
//!   caller keeps, as in an audio callback.
//!
//! # Memory
//!
//! Nothing is allocated. A forward pass uses the stack for its input and
//! output; a training step also holds the tape, whose size is
//! `size_of::<<Net as Train<X>>::Tape>()`: the sum of what its layers keep
//! (a [`Dense`] keeps its input, an element-wise activation its derivative,
//! [`Softmax`] its output). For `(Dense<64, 32>, Relu, Dense<32, 10>)` in
//! `f32` that is `(64 + 32 + 32) · 4 = 512` bytes per sample, `16 KiB` for a
//! batch of 32; the gradient is one more copy of the parameters
//! (`(64·32 + 32 + 32·10 + 10) · 4 = 9,640` bytes). A test checks both
//! figures. Sequence models keep much more (a [`Gru`] of 32 units over 100
//! steps, batch 32: 1.65 MB); [`train::Trainer::micro_batch`] and
//! [`train::Trainer::fit_with_tape`] keep it within a thread's stack.
//!
//! # Features
//!
//! * `std` (default): what needs an operating system: the CSV loader
//!   ([`data::load_csv`]), weight files ([`io::save_file`]), Rust source
//!   ([`io::rust`]) and `std::error::Error` impls. Without it the crate
//!   builds for bare-metal targets such as `thumbv7em-none-eabihf`.
//! * `safetensors`: import of PyTorch `state_dict`s saved as safetensors
//!   (`io::safetensors`; adds the `safetensors` crate).

#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

// The README's code blocks run as doctests too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod data;
pub mod init;
pub mod io;
mod kernels;
pub mod layers;
pub mod loss;
mod math;
pub mod metrics;
pub mod module;
pub mod network;
pub mod optim;
pub mod params;
pub mod quant;
pub mod sampling;
mod scalar;
pub mod schedule;
pub mod sequence;
pub mod shape;
pub mod stream;
pub mod tensor;
pub mod train;

/// The linear-algebra crate every tensor here is made of, re-exported so
/// that a program uses the same version: `staticnet::nalgebra::SVector`.
pub use nalgebra;
/// The random-number crate of `Init`, `Trainer::fit` and the samplers,
/// re-exported so that a program uses the same version (its generators, such
/// as `staticnet::rand::rngs::Xoshiro256PlusPlus`, are seedable and
/// `no_std`).
pub use rand;

pub use init::Init;
pub use layers::*;
pub use loss::{BinaryCrossEntropy, CrossEntropy, Huber, Loss, MeanSquared};
pub use module::{Mode, Module, Train};
pub use network::Network;
pub use params::{Layer, Node, Params};
pub use scalar::Scalar;
pub use tensor::Tensor;

/// Everything a typical program needs, in one `use`: the layers, losses,
/// the traits a network's methods and a generic function's bounds name
/// (`Module`, `Train`, `Params`, `Network`, `Tensor`, `Sample`, `Batch`,
/// `Prediction`, `Scalar`, `Dataset`, `Class`, `Classifier`, `Regressor`,
/// `Trainable`),
/// and `SVector`/`SMatrix`.
pub mod prelude {
    pub use crate::data::{Data, Dataset};
    pub use crate::layers::*;
    pub use crate::loss::Prediction;
    pub use crate::metrics::{Class, Classifier, Predicts, Regressor};
    pub use crate::sequence::{Input, Seq};
    pub use crate::tensor::{Batch, Sample};
    pub use crate::train::Trainable;
    pub use crate::{
        BinaryCrossEntropy, CrossEntropy, Huber, Init, Layer, Loss, MeanSquared, Mode, Module,
        Network, Params, Scalar, Tensor, Train,
    };
    pub use nalgebra::{SMatrix, SVector};
}
