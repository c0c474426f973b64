//! The residual (skip) connection `y = x + f(x)`.

use core::fmt;

use nalgebra::SMatrix;
use rand::Rng;

use crate::module::Mode;
use crate::params::{Layer, Node, RustSource, TensorInfo};
use crate::shape::Columns;
use crate::{Init, Module, Params, Scalar, Tensor, Train};

/// A residual block: `y = x + f(x)`, for any block `f` (a layer or a tuple
/// of layers) whose output has its input's size.
///
/// Its Jacobian is `I + ∂f/∂x`, so the backward pass is
/// `∂L/∂x = dy + (∂f/∂x)ᵀ dy`: the block's own backward pass plus the
/// gradient passed straight through. Its tape, parameters and buffers are the
/// block's. A block that changes the size does not compile, and the error
/// names both sizes: "a `Residual` block must keep the size: its block takes
/// 8 values per sample and gives 4".
///
/// It describes itself as a `Residual` layer whose one child is the block.
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::{Dense, Network, Relu, Residual};
///
/// // y = x + relu(W x + b)
/// let block = (Dense::<2, 2>::from_rows([[1.0, 0.0], [0.0, -1.0]], [0.0, 0.0]), Relu);
/// let net = Residual::new(block);
/// let y = net.predict(&SVector::from([3.0, 2.0]));
/// assert_eq!(y, SVector::from([6.0, 2.0]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Residual<F>(pub F);

impl<F> Residual<F> {
    /// The block `x ↦ x + f(x)` around `f`. A `const fn`, so a trained
    /// network can be a `static`:
    ///
    /// ```
    /// use staticnet::{Dense, Residual};
    /// static NET: Residual<Dense<1, 1>> = Residual::new(Dense::from_columns([[2.0]], [0.5]));
    /// assert_eq!(NET.0.bias[0], 0.5);
    /// ```
    pub const fn new(f: F) -> Self {
        Residual(f)
    }
}

/// `Columns: KeepsSize<N, M>` holds exactly when a block given `N` values
/// per sample gives `M == N`: the condition for `x + f(x)`.
///
/// You never implement it; it appears in the bounds of [`Residual`]'s
/// [`Module`] impl (through [`ResidualOutput`]), so that a block that
/// changes the size fails to compile with a sentence naming both sizes.
///
/// ```
/// use staticnet::KeepsSize;
/// use staticnet::shape::Columns;
///
/// fn keeps<const N: usize, const M: usize>() where Columns: KeepsSize<N, M> {}
/// keeps::<8, 8>();
/// ```
///
/// ```compile_fail
/// # use staticnet::KeepsSize;
/// # use staticnet::shape::Columns;
/// # fn keeps<const N: usize, const M: usize>() where Columns: KeepsSize<N, M> {}
/// keeps::<8, 4>(); // a `Residual` block must keep the size: … takes 8 … and gives 4
/// ```
#[diagnostic::on_unimplemented(
    message = "a `Residual` block must keep the size: its block takes {N} values per sample and gives {M}",
    label = "this block gives {M} values per sample for an input of {N}",
    note = "`Residual(f)` computes x + f(x), so f's output must have its input's size: make the block's last layer give {N} values"
)]
pub trait KeepsSize<const N: usize, const M: usize> {
    /// The block's output, seen with the input's size (the identity).
    fn output<T, const B: usize>(y: SMatrix<T, M, B>) -> SMatrix<T, N, B>;
    /// The output gradient, seen with the block's output size (the identity).
    fn output_grad<T, const B: usize>(dy: &SMatrix<T, N, B>) -> &SMatrix<T, M, B>;
}

impl<const N: usize> KeepsSize<N, N> for Columns {
    #[inline(always)]
    fn output<T, const B: usize>(y: SMatrix<T, N, B>) -> SMatrix<T, N, B> {
        y
    }
    #[inline(always)]
    fn output_grad<T, const B: usize>(dy: &SMatrix<T, N, B>) -> &SMatrix<T, N, B> {
        dy
    }
}

/// The output of a residual block on the input `X`: a tensor of `X`'s shape
/// (checked by [`KeepsSize`], whose error names both sizes).
///
/// [`Residual`]'s impls take any input `X` and ask the block's output for
/// this trait, rather than naming matrix sizes in their headers: the
/// compiler then learns both sizes from the network before it checks them,
/// and reports a mismatch with the sizes instead of guessing one from the
/// other.
///
/// ```
/// use nalgebra::SMatrix;
/// use staticnet::ResidualOutput;
///
/// let y = SMatrix::<f32, 3, 2>::repeat(1.0); // f(x) for a batch of two
/// let as_input: SMatrix<f32, 3, 2> = ResidualOutput::into_input(y); // the same matrix
/// assert_eq!(as_input, y);
/// ```
pub trait ResidualOutput<X>: Sized {
    /// The block's output, seen as the input's type (the identity).
    fn into_input(y: Self) -> X;
    /// An output gradient, seen as the block's output type (the identity).
    fn from_input(dy: &X) -> &Self;
}

impl<T, const N: usize, const M: usize, const B: usize> ResidualOutput<SMatrix<T, N, B>>
    for SMatrix<T, M, B>
where
    Columns: KeepsSize<N, M>,
{
    #[inline(always)]
    fn into_input(y: Self) -> SMatrix<T, N, B> {
        Columns::output(y)
    }
    #[inline(always)]
    fn from_input(dy: &SMatrix<T, N, B>) -> &Self {
        Columns::output_grad(dy)
    }
}

/// `x + y`, element by element.
#[inline]
fn add<X: Tensor>(mut x: X, y: &X) -> X {
    for (a, &b) in x.as_mut_slice().iter_mut().zip(y.as_slice()) {
        *a += b;
    }
    x
}

impl<X: Tensor, F> Module<X> for Residual<F>
where
    F: Module<X>,
    F::Output: ResidualOutput<X>,
{
    type Output = X;
    const WIDE: bool = F::WIDE;
    #[inline]
    fn forward(&self, x: &X) -> X {
        add(*x, &F::Output::into_input(self.0.forward(x)))
    }
}

impl<X: Tensor, F> Train<X> for Residual<F>
where
    F: Train<X>,
    F::Output: ResidualOutput<X>,
{
    /// The block's tape.
    type Tape = F::Tape;
    #[inline]
    fn forward_tape(&self, x: &X, mode: &mut Mode<'_>) -> (X, F::Tape) {
        let (fx, tape) = self.0.forward_tape(x, mode);
        (add(*x, &F::Output::into_input(fx)), tape)
    }
    #[inline]
    fn backward(&self, tape: &F::Tape, dy: &X, grad: &mut Self) -> X {
        let d = F::Output::from_input(dy);
        add(*dy, &self.0.backward(tape, d, &mut grad.0))
    }
    #[inline]
    fn backward_params(&self, tape: &F::Tape, dy: &X, grad: &mut Self) {
        self.0
            .backward_params(tape, F::Output::from_input(dy), &mut grad.0)
    }
    #[inline]
    fn update_buffers(&mut self, tape: &F::Tape) {
        self.0.update_buffers(tape)
    }
}

impl<F> Layer for Residual<F> {
    const KIND: &'static str = "Residual";
}

/// The block's tensors, under the kind `Residual`.
impl<T: Scalar, F: Params<T>> Params<T> for Residual<F> {
    const NUM_PARAMS: usize = F::NUM_PARAMS;
    const NUM_BUFFERS: usize = F::NUM_BUFFERS;

    fn zeros() -> Self {
        Residual(F::zeros())
    }

    #[inline]
    fn tensors<const R: usize, const W: usize>(
        read: [&Self; R],
        mut write: [&mut Self; W],
        f: &mut impl FnMut(TensorInfo, [&[T]; R], [&mut [T]; W]),
    ) {
        F::tensors(read.map(|r| &r.0), write.each_mut().map(|w| &mut w.0), f)
    }


    fn init<G: Rng + ?Sized>(&mut self, init: Init, rng: &mut G) {
        self.0.init(init, rng)
    }

    fn describe(&self, f: &mut impl FnMut(Node)) {
        f(Node::Begin(Self::KIND));
        self.0.describe(f);
        f(Node::End);
    }

    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.text("staticnet::Residual<")?;
        F::rust_type(src)?;
        src.text(">")
    }

    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.text("staticnet::Residual::new(")?;
        self.0.rust_value(src)?;
        src.text(")")
    }
}
