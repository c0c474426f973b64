//! Stack use is visible: a tape is exactly what its layers keep, with no
//! padding, and the figures in the crate docs are the real ones.

use core::mem::size_of;
use nalgebra::{SMatrix, SVector};
use staticnet::prelude::*;

type Digits = (Dense<64, 32>, Relu, Dense<32, 10>);

fn tape<N: Train<X>, X>() -> usize {
    size_of::<N::Tape>()
}

#[test]
fn a_tape_is_the_sum_of_its_layers_tapes() {
    type X = SVector<f32, 64>;
    type H = SVector<f32, 32>;
    let layers = tape::<Dense<64, 32>, X>() + tape::<Relu, H>() + tape::<Dense<32, 10>, H>();
    assert_eq!(tape::<Digits, X>(), layers);
    // What each layer keeps: Dense its input, Relu its derivative.
    assert_eq!(tape::<Dense<64, 32>, X>(), 64 * 4);
    assert_eq!(tape::<Relu, H>(), 32 * 4);
    assert_eq!(tape::<Identity, H>(), 0);
    // The figures quoted in the crate docs: 512 bytes per sample, 16 KiB per batch of 32.
    assert_eq!(tape::<Digits, X>(), 512);
    assert_eq!(tape::<Digits, SMatrix<f32, 64, 32>>(), 16 * 1024);
    // A gradient is one copy of the parameters.
    assert_eq!(size_of::<Digits>(), <Digits as Params<f32>>::NUM_PARAMS * 4);
    assert_eq!(size_of::<Digits>(), 9640);
}

#[test]
fn nested_and_f64_tapes_add_up_too() {
    type Block = (Dense<8, 8, f64>, Tanh);
    type Net = (Dense<3, 8, f64>, Softmax, Block, (Block, Dense<8, 2, f64>));
    type X = SVector<f64, 3>;
    type H = SVector<f64, 8>;
    let block = tape::<Dense<8, 8, f64>, H>() + tape::<Tanh, H>();
    let expected = tape::<Dense<3, 8, f64>, X>()
        + tape::<Softmax, H>()
        + block
        + block
        + tape::<Dense<8, 2, f64>, H>();
    assert_eq!(tape::<Net, X>(), expected);
    assert_eq!(expected, (3 + 8 + 2 * (8 + 8) + 8) * 8);
}

#[test]
fn normalisation_layers_keep_what_their_docs_say() {
    // BatchNorm1d<N>: four vectors of N (weight, bias and the two running
    // statistics, the last two buffers) and its two f64 settings.
    assert_eq!(size_of::<BatchNorm1d<32>>(), 4 * 32 * 4 + 16);
    assert_eq!(<BatchNorm1d<32> as Params<f32>>::NUM_PARAMS, 2 * 32);
    assert_eq!(<BatchNorm1d<32> as Params<f32>>::NUM_BUFFERS, 2 * 32);
    // Its tape: x̂ (N·B), 1/σ, the batch mean and variance (3N), a count and
    // a flag, rounded up to the alignment.
    type X32 = SMatrix<f32, 32, 32>;
    let scalars = (32 * 32 + 3 * 32) * 4;
    assert_eq!(tape::<BatchNorm1d<32>, X32>(), scalars + 16);
    // LayerNorm<N>: weight and bias, and its f64 eps; its tape x̂ and one 1/σ
    // per sample.
    assert_eq!(size_of::<LayerNorm<32>>(), 2 * 32 * 4 + 8);
    assert_eq!(tape::<LayerNorm<32>, X32>(), (32 + 1) * 32 * 4);
    // In a network the tape is still the sum of the layers' (and the
    // gradient one more network, buffers included, which stay zero).
    type Net = (Dense<64, 32>, BatchNorm1d<32>, Relu, Dense<32, 10>);
    type X = SMatrix<f32, 64, 32>;
    type H = SMatrix<f32, 32, 32>;
    let sum = tape::<Dense<64, 32>, X>()
        + tape::<BatchNorm1d<32>, H>()
        + tape::<Relu, H>()
        + tape::<Dense<32, 10>, H>();
    assert_eq!(tape::<Net, X>(), sum);
    assert_eq!(sum, 8192 + 4496 + 4096 + 4096);
}

#[test]
fn dropout_and_graph_blocks_keep_what_their_docs_say() {
    type X = SMatrix<f32, 16, 8>;
    // Dropout keeps its mask (already scaled), one scalar per element, and
    // its probability as one f64.
    assert_eq!(tape::<Dropout, X>(), 16 * 8 * 4);
    assert_eq!(size_of::<Dropout>(), 8);
    // A residual block keeps its block's tape and nothing else; a Concat
    // both branches' tapes.
    type Block = (Dense<16, 16>, Tanh);
    assert_eq!(tape::<Residual<Block>, X>(), tape::<Block, X>());
    assert_eq!(tape::<Block, X>(), 2 * 16 * 8 * 4);
    type Cat = Concat<Dense<16, 4>, (Dense<16, 8>, Relu), 12>;
    assert_eq!(
        tape::<Cat, X>(),
        tape::<Dense<16, 4>, X>() + tape::<(Dense<16, 8>, Relu), X>()
    );
    // Neither adds parameters or storage of its own.
    assert_eq!(size_of::<Residual<Block>>(), size_of::<Block>());
    assert_eq!(
        size_of::<Cat>(),
        size_of::<Dense<16, 4>>() + size_of::<(Dense<16, 8>, Relu)>()
    );
}
