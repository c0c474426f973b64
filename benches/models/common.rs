//! What `benches/models` and `benches/pairs` share (`#[path]`-included by
//! the latter): the reference models, their inputs, the flop counts and the
//! measured training step.

use nalgebra::{SMatrix, SVector};
use rand::{Rng, SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::optim::{Optimizer, Sgd};
use staticnet::prelude::*;
use staticnet::quant;

/// The batch of the forward passes and steps.
pub const B: usize = 32;
/// The SGD learning rate of the steps.
pub const LR: f32 = 0.1;

/// The activation the tiny model uses: the vectorising approximation (see
/// the README's speed table; `Tanh` is the exact one).
pub type TinyAct = FastTanh;
/// Its output activation (`Sigmoid` is the exact one).
pub type TinyOut = FastSigmoid;

pub type Tiny = (
    Dense<2, 16>,
    TinyAct,
    Dense<16, 16>,
    TinyAct,
    Dense<16, 1>,
    TinyOut,
);
/// The tiny model trains on logits: `BinaryCrossEntropy` fuses the sigmoid.
pub type TinyLogits = (Dense<2, 16>, TinyAct, Dense<16, 16>, TinyAct, Dense<16, 1>);
/// The tiny model with the exact activations (`Tanh`, `Sigmoid`), whose
/// loops the compiler vectorises from scalar code: the plain baseline is
/// this model.
pub type Exact = (
    Dense<2, 16>,
    Tanh,
    Dense<16, 16>,
    Tanh,
    Dense<16, 1>,
    Sigmoid,
);
/// It trains on logits, as the tiny model does.
pub type ExactLogits = (Dense<2, 16>, Tanh, Dense<16, 16>, Tanh, Dense<16, 1>);
pub type Digits = (Dense<64, 32>, Relu, Dense<32, 10>);
pub type Mid = (Dense<128, 256>, Relu, Dense<256, 256>, Relu, Dense<256, 10>);

/// A value at the start of a cache line. Every network, gradient and
/// baseline here lives in one, so that the figures do not depend on where
/// the stack or the allocator happened to put them: one-sample inference is
/// bound by vector loads, and on this machine a load that straddles two
/// cache lines costs two (the digits model is ~1.4× slower with its weights
/// at 56 mod 64 than at 32 mod 64).
#[repr(C, align(64))]
pub struct Aligned<T>(pub T);

pub fn aligned<T>(value: T) -> Box<Aligned<T>> {
    Box::new(Aligned(value))
}

pub fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

pub fn uniform(r: &mut impl Rng) -> f32 {
    (r.next_u32() >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
}

pub fn input<const I: usize, const N: usize>(seed: u64) -> SMatrix<f32, I, N> {
    let mut r = rng(seed);
    SMatrix::from_fn(|_, _| uniform(&mut r))
}

/// Flops of one forward pass of `Dense` layers with these (inputs, outputs).
pub fn forward_flops(layers: &[(usize, usize)]) -> u64 {
    layers.iter().map(|&(i, o)| 2 * i as u64 * o as u64).sum()
}

/// Flops of a training step on a batch: the forward pass, `dW += dy xᵀ` for
/// every layer and `Wᵀ dy` for every layer but the first.
pub fn train_flops(layers: &[(usize, usize)], batch: usize) -> u64 {
    let fwd = forward_flops(layers);
    let dx = forward_flops(&layers[1..]);
    (2 * fwd + dx) * batch as u64
}

/// The measured training step: forward with its tape, the batch loss and
/// its gradient, the backward pass into the gradient (zeroed first unless
/// the network writes it, `Train::SETS_GRAD`), the SGD update (with its
/// finiteness check).
#[allow(clippy::too_many_arguments)]
pub fn sgd_step<N, L, X, Tg, const B: usize>(
    net: &mut N,
    loss: &L,
    x: &X,
    targets: &[Tg; B],
    grad: &mut N,
    tape: &mut N::Tape,
    sgd: &mut Sgd<N>,
    rng: &mut Xoshiro256PlusPlus,
) -> f32
where
    N: Train<X> + Params<f32>,
    N::Output: staticnet::tensor::Batch<B> + staticnet::Tensor<Scalar = f32>,
    <N::Output as staticnet::tensor::Batch<B>>::Column: staticnet::loss::Prediction<L, Tg>,
    L: Loss,
{
    // What `Trainer::fit` does per step: the forward pass in training mode
    // (with the trainer's generator, which no layer of these models draws
    // from) into the tape kept across steps, the loss, the backward pass,
    // the update, then the layers' buffers.
    let mut mode = Mode::Training { rng, samples: B };
    let y = net.forward_tape_into(x, &mut mode, tape);
    let (l, dy) = loss.batch_loss_and_grad(&y, targets);
    if !N::SETS_GRAD {
        grad.set_zero();
    }
    net.backward_params_set(tape, &dy, grad);
    sgd.step(net, grad).expect("finite");
    net.update_buffers(tape);
    l
}

/// What a training step keeps across steps, each at the start of a cache
/// line as the network is: the gradient, the optimiser, the tape and the
/// trainer's generator. [`Stepper::step`] is [`sgd_step`] on them.
pub struct Stepper<N: Train<X>, X> {
    grad: Box<Aligned<N>>,
    sgd: Box<Aligned<Sgd<N>>>,
    tape: Box<Aligned<N::Tape>>,
    rng: Xoshiro256PlusPlus,
}

impl<N: Train<X> + Params<f32>, X> Stepper<N, X> {
    /// A zero gradient, a fresh optimiser and the tape of `net` on `x`.
    pub fn new(net: &N, x: &X) -> Self {
        Self {
            grad: aligned(N::zeros()),
            sgd: aligned(Sgd::new(LR as f64)),
            tape: aligned(net.forward_train(x).1),
            rng: rng(7),
        }
    }

    /// One [`sgd_step`] of `net` on `x` and `targets`.
    pub fn step<L, Tg, const B: usize>(
        &mut self,
        net: &mut N,
        loss: &L,
        x: &X,
        targets: &[Tg; B],
    ) -> f32
    where
        N::Output: staticnet::tensor::Batch<B> + staticnet::Tensor<Scalar = f32>,
        <N::Output as staticnet::tensor::Batch<B>>::Column: staticnet::loss::Prediction<L, Tg>,
        L: Loss,
    {
        sgd_step(
            net,
            loss,
            x,
            targets,
            &mut self.grad.0,
            &mut self.tape.0,
            &mut self.sgd.0,
            &mut self.rng,
        )
    }
}

/// The int8 form of `net`, calibrated on 256 random inputs, and one input in
/// int8 (for the `infer-int8` rows: integer-only inference against `f32`).
pub fn int8<N, const I: usize, const O: usize>(
    net: &N,
    x: &SVector<f32, I>,
) -> (quant::Quantized<N::Quantized, I, O>, [i8; I])
where
    N: quant::Quantize<SVector<f32, I>, Output = SVector<f32, O>>,
{
    let data: Vec<(SVector<f32, I>, usize)> = (0..256).map(|k| (input(1000 + k), 0)).collect();
    let q = quant::quantize(net, &data[..], quant::Calibration::MinMax).expect("quantisable");
    let xq = q.quantize_input(x);
    (q, xq)
}
