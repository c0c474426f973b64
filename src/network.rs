//! Networks: a tuple of layers is a layer, and [`Network`] is how you use one.
//!
//! `(L0, L1, …, Ln)` implements [`Module<X>`] exactly when `L0: Module<X>`,
//! `L1: Module<L0::Output>`, and so on: a network whose neighbouring sizes
//! disagree does not compile, and the error names the layer and both sizes.
//! Tuples of up to 16 layers are supported, and a tuple may contain tuples
//! (a block), so depth is unlimited:
//!
//! ```
//! use staticnet::{Dense, Relu, Tanh};
//! type Block = (Dense<16, 16>, Relu);
//! type Deep = (Dense<4, 16>, Relu, Block, Block, Block, (Dense<16, 8>, Tanh), Dense<8, 1>);
//! ```
//!
//! The tape of a tuple is the tuple of its layers' tapes, and its gradient is
//! a value of the network's own type. A tuple describes itself as a
//! `Sequential` layer whose children are its elements.

use rand::Rng;

use core::fmt;

use crate::loss::Prediction;
use crate::module::Mode;
use crate::params::{Layer, Node, RustSource, TensorInfo};
use crate::tensor::{Batch, Sample};
use crate::{Init, Loss, Module, Params, Scalar, Tensor, Train};

macro_rules! tuple_impls {
    (
        [$($L:ident $i:tt $In:ident $Out:ident),+] out $Y:ident;
        fwd [$L0:ident $i0:tt $(, $Lr:ident $ir:tt)*];
        back [$($b:tt)*]
    ) => {
        impl<X, $($L, $Out),+> Module<X> for ($($L,)+)
        where
            $($L: Module<$In, Output = $Out>,)+
        {
            type Output = $Y;
            const PROBABILITY: bool = {
                let last = [$(<$L as Module<$In>>::PROBABILITY),+];
                last[last.len() - 1]
            };
            const WIDE: bool = false $(|| <$L as Module<$In>>::WIDE)+;
            #[inline(always)]
            fn forward(&self, x: &X) -> $Y {
                // x86-64: asked once, the answer handed to the layers as a
                // type (a network that gains from AVX-512, `WIDE`, also
                // asks for that). Elsewhere there is nothing to ask (the
                // plain loops), and the pass is the layers' `forward`s as
                // it was, so that the firmware's code stays what
                // `embedded/footprint.sh` measured.
                #[cfg(target_arch = "x86_64")]
                {
                    if <Self as Module<X>>::WIDE {
                        crate::kernels::dispatch_on_wide(
                            #[inline(always)] |wide| self.forward_on(x, wide),
                            #[inline(always)] |cpu| self.forward_on(x, cpu),
                            #[inline(always)] |plain| self.forward_on(x, plain),
                        )
                    } else {
                        crate::kernels::dispatch_on(
                            #[inline(always)] |cpu| self.forward_on(x, cpu),
                            #[inline(always)] |plain| self.forward_on(x, plain),
                        )
                    }
                }
                #[cfg(not(target_arch = "x86_64"))]
                {
                    crate::kernels::dispatch(#[inline(always)] || {
                        let y = self.$i0.forward(x);
                        $(let y = self.$ir.forward(&y);)*
                        y
                    })
                }
            }
            #[inline(always)]
            fn forward_on<K: crate::module::Isa>(&self, x: &X, isa: K) -> $Y {
                let y = self.$i0.forward_on(x, isa);
                $(let y = self.$ir.forward_on(&y, isa);)*
                y
            }
        }

        impl<X, $($L, $Out),+> Train<X> for ($($L,)+)
        where
            $($L: Train<$In, Output = $Out>,)+
        {
            type Tape = ($(<$L as Train<$In>>::Tape,)+);
            #[inline(always)]
            #[allow(non_snake_case)]
            fn forward_tape(&self, x: &X, mode: &mut Mode<'_>) -> ($Y, Self::Tape) {
                crate::kernels::dispatch_for::<Self, X, _>(#[inline(always)] || {
                    let (y, $L0) = self.$i0.forward_tape(x, mode);
                    $(let (y, $Lr) = self.$ir.forward_tape(&y, mode);)*
                    (y, ($($L,)+))
                })
            }
            #[inline(always)]
            fn forward_tape_into(&self, x: &X, mode: &mut Mode<'_>, tape: &mut Self::Tape) -> $Y {
                crate::kernels::dispatch_for::<Self, X, _>(#[inline(always)] || {
                    let y = self.$i0.forward_tape_into(x, mode, &mut tape.$i0);
                    $(let y = self.$ir.forward_tape_into(&y, mode, &mut tape.$ir);)*
                    y
                })
            }
            #[inline(always)]
            fn backward(&self, tape: &Self::Tape, dy: &$Y, grad: &mut Self) -> X {
                crate::kernels::dispatch_for::<Self, X, _>(#[inline(always)] || {
                    let d = dy;
                    $(let d = &self.$b.backward(&tape.$b, d, &mut grad.$b);)*
                    self.0.backward(&tape.0, d, &mut grad.0)
                })
            }
            #[inline(always)]
            fn backward_params(&self, tape: &Self::Tape, dy: &$Y, grad: &mut Self) {
                crate::kernels::dispatch_for::<Self, X, _>(#[inline(always)] || {
                    let d = dy;
                    $(let d = &self.$b.backward(&tape.$b, d, &mut grad.$b);)*
                    self.0.backward_params(&tape.0, d, &mut grad.0)
                })
            }
            const SETS_GRAD: bool = true $(&& <$L as Train<$In>>::SETS_GRAD)+;
            #[inline(always)]
            fn backward_set(&self, tape: &Self::Tape, dy: &$Y, grad: &mut Self) -> X {
                crate::kernels::dispatch_for::<Self, X, _>(#[inline(always)] || {
                    let d = dy;
                    $(let d = &self.$b.backward_set(&tape.$b, d, &mut grad.$b);)*
                    self.0.backward_set(&tape.0, d, &mut grad.0)
                })
            }
            #[inline(always)]
            fn backward_params_set(&self, tape: &Self::Tape, dy: &$Y, grad: &mut Self) {
                crate::kernels::dispatch_for::<Self, X, _>(#[inline(always)] || {
                    let d = dy;
                    $(let d = &self.$b.backward_set(&tape.$b, d, &mut grad.$b);)*
                    self.0.backward_params_set(&tape.0, d, &mut grad.0)
                })
            }
            #[inline(always)]
            fn update_buffers(&mut self, tape: &Self::Tape) {
                $(self.$i.update_buffers(&tape.$i);)+
            }
        }

        impl<$($L),+> Layer for ($($L,)+) {
            const KIND: &'static str = "Sequential";
        }

        impl<T: Scalar, $($L: Params<T>),+> Params<T> for ($($L,)+) {
            const NUM_PARAMS: usize = 0 $(+ $L::NUM_PARAMS)+;
            const NUM_BUFFERS: usize = 0 $(+ $L::NUM_BUFFERS)+;
            fn zeros() -> Self {
                ($($L::zeros(),)+)
            }
            #[inline]
            fn tensors<const R: usize, const W: usize>(
                read: [&Self; R],
                mut write: [&mut Self; W],
                f: &mut impl FnMut(TensorInfo, [&[T]; R], [&mut [T]; W]),
            ) {
                $($L::tensors(read.map(|t| &t.$i), write.each_mut().map(|t| &mut t.$i), f);)+
            }
            fn init<G: Rng + ?Sized>(&mut self, init: Init, rng: &mut G) {
                $(self.$i.init(init, rng);)+
            }
            fn describe(&self, f: &mut impl FnMut(Node)) {
                f(Node::Begin(Self::KIND));
                $(self.$i.describe(f);)+
                f(Node::End);
            }
            fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
                src.text("(")?;
                $($L::rust_type(src)?; src.text(", ")?;)+
                src.text(")")
            }
            fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
                src.text("(")?;
                src.indent();
                $(src.newline()?; self.$i.rust_value(src)?; src.text(",")?;)+
                src.dedent();
                src.newline()?;
                src.text(")")
            }
        }
    };
}

tuple_impls!([L0 0 X Y1] out Y1; fwd [L0 0]; back []);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2] out Y2; fwd [L0 0, L1 1]; back [1]);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3] out Y3; fwd [L0 0, L1 1, L2 2]; back [2 1]);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4] out Y4;
    fwd [L0 0, L1 1, L2 2, L3 3]; back [3 2 1]);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5] out Y5;
    fwd [L0 0, L1 1, L2 2, L3 3, L4 4]; back [4 3 2 1]);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5, L5 5 Y5 Y6] out Y6;
    fwd [L0 0, L1 1, L2 2, L3 3, L4 4, L5 5]; back [5 4 3 2 1]);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5, L5 5 Y5 Y6,
    L6 6 Y6 Y7] out Y7;
    fwd [L0 0, L1 1, L2 2, L3 3, L4 4, L5 5, L6 6]; back [6 5 4 3 2 1]);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5, L5 5 Y5 Y6,
    L6 6 Y6 Y7, L7 7 Y7 Y8] out Y8;
    fwd [L0 0, L1 1, L2 2, L3 3, L4 4, L5 5, L6 6, L7 7]; back [7 6 5 4 3 2 1]);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5, L5 5 Y5 Y6,
    L6 6 Y6 Y7, L7 7 Y7 Y8, L8 8 Y8 Y9] out Y9;
    fwd [L0 0, L1 1, L2 2, L3 3, L4 4, L5 5, L6 6, L7 7, L8 8]; back [8 7 6 5 4 3 2 1]);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5, L5 5 Y5 Y6,
    L6 6 Y6 Y7, L7 7 Y7 Y8, L8 8 Y8 Y9, L9 9 Y9 Y10] out Y10;
    fwd [L0 0, L1 1, L2 2, L3 3, L4 4, L5 5, L6 6, L7 7, L8 8, L9 9];
    back [9 8 7 6 5 4 3 2 1]);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5, L5 5 Y5 Y6,
    L6 6 Y6 Y7, L7 7 Y7 Y8, L8 8 Y8 Y9, L9 9 Y9 Y10, L10 10 Y10 Y11] out Y11;
    fwd [L0 0, L1 1, L2 2, L3 3, L4 4, L5 5, L6 6, L7 7, L8 8, L9 9, L10 10];
    back [10 9 8 7 6 5 4 3 2 1]);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5, L5 5 Y5 Y6,
    L6 6 Y6 Y7, L7 7 Y7 Y8, L8 8 Y8 Y9, L9 9 Y9 Y10, L10 10 Y10 Y11, L11 11 Y11 Y12] out Y12;
    fwd [L0 0, L1 1, L2 2, L3 3, L4 4, L5 5, L6 6, L7 7, L8 8, L9 9, L10 10, L11 11];
    back [11 10 9 8 7 6 5 4 3 2 1]);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5, L5 5 Y5 Y6,
    L6 6 Y6 Y7, L7 7 Y7 Y8, L8 8 Y8 Y9, L9 9 Y9 Y10, L10 10 Y10 Y11, L11 11 Y11 Y12,
    L12 12 Y12 Y13] out Y13;
    fwd [L0 0, L1 1, L2 2, L3 3, L4 4, L5 5, L6 6, L7 7, L8 8, L9 9, L10 10, L11 11, L12 12];
    back [12 11 10 9 8 7 6 5 4 3 2 1]);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5, L5 5 Y5 Y6,
    L6 6 Y6 Y7, L7 7 Y7 Y8, L8 8 Y8 Y9, L9 9 Y9 Y10, L10 10 Y10 Y11, L11 11 Y11 Y12,
    L12 12 Y12 Y13, L13 13 Y13 Y14] out Y14;
    fwd [L0 0, L1 1, L2 2, L3 3, L4 4, L5 5, L6 6, L7 7, L8 8, L9 9, L10 10, L11 11, L12 12,
        L13 13];
    back [13 12 11 10 9 8 7 6 5 4 3 2 1]);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5, L5 5 Y5 Y6,
    L6 6 Y6 Y7, L7 7 Y7 Y8, L8 8 Y8 Y9, L9 9 Y9 Y10, L10 10 Y10 Y11, L11 11 Y11 Y12,
    L12 12 Y12 Y13, L13 13 Y13 Y14, L14 14 Y14 Y15] out Y15;
    fwd [L0 0, L1 1, L2 2, L3 3, L4 4, L5 5, L6 6, L7 7, L8 8, L9 9, L10 10, L11 11, L12 12,
        L13 13, L14 14];
    back [14 13 12 11 10 9 8 7 6 5 4 3 2 1]);
tuple_impls!([L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5, L5 5 Y5 Y6,
    L6 6 Y6 Y7, L7 7 Y7 Y8, L8 8 Y8 Y9, L9 9 Y9 Y10, L10 10 Y10 Y11, L11 11 Y11 Y12,
    L12 12 Y12 Y13, L13 13 Y13 Y14, L14 14 Y14 Y15, L15 15 Y15 Y16] out Y16;
    fwd [L0 0, L1 1, L2 2, L3 3, L4 4, L5 5, L6 6, L7 7, L8 8, L9 9, L10 10, L11 11, L12 12,
        L13 13, L14 14, L15 15];
    back [15 14 13 12 11 10 9 8 7 6 5 4 3 2 1]);

/// What you do with a network (or a single layer): predict, score, take
/// gradients, take the input–output Jacobian.
///
/// Implemented for every [`Layer`] (a blanket impl), so every layer, every
/// tuple of layers and every layer of your own has these methods; each is
/// available when its bounds hold. The bounds sit
/// on the methods, so a shape mistake is reported at the call with the sizes
/// that disagree, e.g. "`Dense<4, 1>` takes 4 inputs, but it is given 8".
///
/// ```
/// use nalgebra::SVector;
/// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
/// use staticnet::{CrossEntropy, Dense, Init, Network, Params, Relu};
///
/// type Net = (Dense<4, 8>, Relu, Dense<8, 3>);
/// let net = Net::random(Init::He, &mut Xoshiro256PlusPlus::seed_from_u64(1));
/// let x = SVector::from([0.1, -0.2, 0.3, 0.0]);
///
/// let logits = net.predict(&x); // SVector<f32, 3>
/// let class = net.predict_class(&x); // argmax
/// let mut grad = Net::zeros();
/// let loss = net.loss_and_grad(&CrossEntropy, &x, &1, &mut grad);
/// let j = net.jacobian(&x); // SMatrix<f32, 3, 4>
/// assert_eq!((j.nrows(), j.ncols()), (3, 4));
/// assert!(loss > 0.0 && class < 3 && logits.iter().all(|v| v.is_finite()));
/// ```
pub trait Network: Sized {
    /// The output for an input: one sample (`SVector<T, I>`) or a batch
    /// (`SMatrix<T, I, B>`, one sample per column).
    #[inline]
    fn predict<X>(&self, x: &X) -> <Self as Module<X>>::Output
    where
        Self: Module<X>,
    {
        self.forward(x)
    }

    /// The predicted class of one sample: the index of the largest output
    /// (the first one on ties), or, for a one-output binary classifier,
    /// 1 when its output is above 0 (a logit, as [`BinaryCrossEntropy`]
    /// trains) or above 0.5 (a probability: the network ends in a
    /// [`Sigmoid`](crate::Sigmoid), see [`Module::PROBABILITY`]), else 0.
    ///
    /// [`BinaryCrossEntropy`]: crate::BinaryCrossEntropy
    fn predict_class<X>(&self, x: &X) -> usize
    where
        Self: Module<X>,
        Self::Output: Sample,
    {
        class_of(self.forward(x).as_slice(), <Self as Module<X>>::PROBABILITY)
    }

    /// The loss of one sample.
    fn loss<X, L, Tg>(&self, loss: &L, x: &X, target: &Tg) -> <Self::Output as Tensor>::Scalar
    where
        Self: Module<X>,
        L: Loss,
        Self::Output: Prediction<L, Tg>,
    {
        loss.loss(&self.forward(x), target)
    }

    /// The loss of one sample; adds its gradient with respect to the
    /// parameters into `grad`. In [`Mode::Inference`]: the gradient of what
    /// [`predict`](Network::predict) computes (running statistics, no
    /// dropout).
    fn loss_and_grad<X, L, Tg>(
        &self,
        loss: &L,
        x: &X,
        target: &Tg,
        grad: &mut Self,
    ) -> <Self::Output as Tensor>::Scalar
    where
        Self: Train<X>,
        L: Loss,
        Self::Output: Prediction<L, Tg>,
    {
        let (y, tape) = self.forward_train(x);
        let (l, dy) = loss.loss_and_grad(&y, target);
        self.backward_params(&tape, &dy, grad);
        l
    }

    /// The mean loss over a batch (one target per column).
    fn batch_loss<X, L, Tg, const B: usize>(
        &self,
        loss: &L,
        x: &X,
        targets: &[Tg; B],
    ) -> <Self::Output as Tensor>::Scalar
    where
        Self: Module<X>,
        L: Loss,
        Self::Output: Batch<B>,
        <Self::Output as Batch<B>>::Column: Prediction<L, Tg>,
    {
        loss.batch_loss(&self.forward(x), targets)
    }

    /// The mean loss over a batch; adds its gradient with respect to the
    /// parameters into `grad`. In [`Mode::Inference`], like
    /// [`loss_and_grad`](Network::loss_and_grad); a training step's gradient
    /// (batch statistics, dropout) is [`Train::forward_tape`] in
    /// [`Mode::Training`] followed by [`Train::backward_params`], as
    /// [`Trainer::fit`](crate::train::Trainer::fit) does.
    fn batch_loss_and_grad<X, L, Tg, const B: usize>(
        &self,
        loss: &L,
        x: &X,
        targets: &[Tg; B],
        grad: &mut Self,
    ) -> <Self::Output as Tensor>::Scalar
    where
        Self: Train<X>,
        L: Loss,
        Self::Output: Batch<B>,
        <Self::Output as Batch<B>>::Column: Prediction<L, Tg>,
    {
        let (y, tape) = self.forward_train(x);
        let (l, dy) = loss.batch_loss_and_grad(&y, targets);
        self.backward_params(&tape, &dy, grad);
        l
    }

    /// The Jacobian `∂y/∂x` of the output with respect to the input at one
    /// sample `x`: for `x: SVector<T, I>` and `y: SVector<T, O>` an
    /// `SMatrix<T, O, I>`, the product `J_L W_L … J_1 W_1` of the chain rule.
    ///
    /// Computed by one forward pass and `O` backward passes, row `k` being
    /// the backward pass of the unit vector `eₖ`.
    fn jacobian<X>(&self, x: &X) -> X::Jacobian<Self::Output>
    where
        Self: Train<X> + Params<X::Scalar>,
        X: Sample,
        Self::Output: Sample<Scalar = X::Scalar>,
    {
        let (y, tape) = self.forward_train(x);
        let rows = <Self::Output as Tensor>::ROWS;
        let mut jac = <X::Jacobian<Self::Output> as Tensor>::zeros();
        let mut scratch = Self::zeros();
        for k in 0..rows {
            let mut e = y;
            e.as_mut_slice().fill(<X::Scalar as Scalar>::ZERO);
            e.as_mut_slice()[k] = <X::Scalar as Scalar>::ONE;
            let row = self.backward(&tape, &e, &mut scratch);
            // Column-major: J[k, i] lives at i * rows + k.
            for (i, &v) in row.as_slice().iter().enumerate() {
                jac.as_mut_slice()[i * rows + k] = v;
            }
        }
        jac
    }
}

impl<N: Layer> Network for N {}

/// The index of the largest value (the first on ties; NaN never wins).
/// The class one output sample names: its argmax, or for a single output
/// whether it is above the threshold of a probability (0.5) or a logit (0).
pub(crate) fn class_of<T: Scalar>(v: &[T], probability: bool) -> usize {
    match v {
        [y] => usize::from(y.as_f64() > if probability { 0.5 } else { 0.0 }),
        _ => argmax(v),
    }
}

pub(crate) fn argmax<T: Scalar>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}
