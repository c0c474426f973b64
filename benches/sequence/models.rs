//! The sequence models timed by `benches/sequence` (and, one streaming
//! step each, by `benches/pairs`).

use staticnet::prelude::*;

/// GRU 1→32 + Dense 32→1.
pub type GruNet = (Gru<1, 32>, Dense<32, 1>);
/// LSTM 1→32 + Dense 32→1.
pub type LstmNet = (Lstm<1, 32>, Dense<32, 1>);
/// LSTM 8→64 + Dense 64→8.
pub type Lstm8Net = (Lstm<8, 64>, Dense<64, 8>);
/// The causal conv stack: 1→16 (kernel 3), tanh, 16→16 (kernel 3,
/// dilation 2), tanh, 16→1.
pub type ConvNet = (
    Conv1d<1, 16, 3, Causal>,
    Tanh,
    Conv1d<16, 16, 3, Causal<2>>,
    Tanh,
    Dense<16, 1>,
);
