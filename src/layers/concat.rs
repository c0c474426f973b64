//! Two branches side by side on the same input, their outputs stacked:
//! `y = [a(x); b(x)]`.
//!
//! # Why the user writes the size, and why typenum checks it
//!
//! The output of `Concat<A, B, N>` has `N = N_A + N_B` values per sample.
//! Stable Rust cannot compute `N_A + N_B` in a type (`generic_const_exprs`
//! is unstable), and an impl cannot invent `N` (E0207: each of an impl's
//! const parameters must appear in the type or the trait), so the user
//! writes `N` and the library checks it.
//!
//! The check is trait solving over typenum's type-level numbers
//! ([`ConcatSizes`]): `U<N_A> + U<N_B> == U<N>` must hold. Because it is
//! trait solving, `cargo check` (and so the editor) reports a wrong size, at
//! the user's line, with the three sizes in the message:
//!
//! ```text
//! error[E0277]: the branches of a `Concat` give 3 + 8 values per sample, but its size is written as 12
//! ```
//!
//! The alternative, a const-evaluated assertion in the impl
//! (`const { assert!(NA + NB == N, "…") }`), is evaluated only after
//! monomorphisation: `cargo check` accepts the mistake and only `cargo build`
//! reports it; the error's first lines point into the standard library's
//! `panic.rs` and the library's `assert!`, and only a closing note ("the
//! above error was encountered while instantiating …") names the user's
//! line; and on stable Rust a const panic cannot format the sizes into its
//! message (`assert!(…, "{}", NA)` in a const is error E0015), so the
//! message cannot say which sizes disagree (only the full type in a note
//! hints at them).
//!
//! The price is a range: typenum maps a `usize` constant to its type for
//! every value from 0 to 1,024, and above that only for powers of two,
//! powers of two minus one, powers of ten and 3,600. Keep each branch's
//! size and `N` at most 1,024 (`1000 + 24 = 1024` works); a size outside
//! the map fails to compile with an error that names it but not the reason:
//!
//! ```text
//! error[E0277]: the trait bound `typenum::…::Const<1500>: typenum::…::ToUInt` is not satisfied
//!   = note: required for `Columns` to implement `ConcatSizes<1000, 500, 1500>`
//! ```
//!
//! A wider layer is better built as one [`Dense`](crate::Dense) layer, or
//! by a `Dense` after the `Concat`.

use core::fmt;
use core::ops::Add;

use nalgebra::SMatrix;
use rand::Rng;
use typenum::{B1, Const, IsEqual, Sum, ToUInt, U};

use crate::module::Mode;
use crate::params::{Layer, Node, RustSource, Setting, TensorInfo};
use crate::shape::Columns;
use crate::{Init, Module, Params, Scalar, Train};

/// Two branches `a` and `b` applied to the same input, their outputs stacked
/// into `N` values per sample: `y = [a(x); b(x)]`.
///
/// `N` must be the sum of the branches' output sizes, `N_A + N_B`, each at
/// most 1,024 (see [the module docs](self) for why the user writes it and
/// for the range); a wrong `N` does not compile, and the error names the
/// three sizes. The
/// backward pass splits `dy` into its two parts:
/// `∂L/∂x = (∂a/∂x)ᵀ dy[..N_A] + (∂b/∂x)ᵀ dy[N_A..]`. The tape is both
/// branches' tapes; in training, `a` runs (and draws from the generator)
/// before `b`.
///
/// It describes itself as a `Concat` layer with the setting `size = N` and
/// two children, `a` then `b`.
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::{Concat, Dense, Network, Relu};
///
/// // y = [relu(x₀ + x₁); 2x₀, −x₁]
/// let a = (Dense::<2, 1>::from_rows([[1.0, 1.0]], [0.0]), Relu);
/// let b = Dense::<2, 2>::from_rows([[2.0, 0.0], [0.0, -1.0]], [0.0, 0.0]);
/// let net: Concat<_, _, 3> = Concat::new(a, b);
/// let y = net.predict(&SVector::from([1.0, 3.0]));
/// assert_eq!(y, SVector::from([4.0, 2.0, -3.0]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Concat<A, B, const N: usize> {
    /// The branch whose output comes first.
    pub a: A,
    /// The branch whose output comes second.
    pub b: B,
}

impl<A, B, const N: usize> Concat<A, B, N> {
    /// The branches `a` and `b`, stacked into `N` values. A `const fn`, so a
    /// trained network can be a `static`:
    ///
    /// ```
    /// use staticnet::{Concat, Dense, Relu};
    /// static NET: Concat<Dense<1, 1>, Relu, 2> = Concat::new(Dense::from_columns([[2.0]], [0.0]), Relu);
    /// assert_eq!(NET.a.weight[(0, 0)], 2.0);
    /// ```
    pub const fn new(a: A, b: B) -> Self {
        Concat { a, b }
    }
}

/// `Columns: ConcatSizes<NA, NB, N>` holds exactly when `NA + NB == N`
/// (and typenum maps each size: every size up to 1,024), checked by trait
/// solving over typenum's numbers, so `cargo check` reports a mistake, at
/// the user's line.
///
/// You never implement it; it appears in the bounds of [`Concat`]'s
/// [`Module`] impl. When the sizes do not add up, the unmet bound is
/// [`SizesAddUp`], whose message names them.
///
/// ```
/// use staticnet::ConcatSizes;
/// use staticnet::shape::Columns;
///
/// fn adds_up<const A: usize, const B: usize, const N: usize>() where Columns: ConcatSizes<A, B, N> {}
/// adds_up::<3, 8, 11>();
/// adds_up::<1000, 24, 1024>();
/// ```
///
/// ```compile_fail
/// # use staticnet::ConcatSizes;
/// # use staticnet::shape::Columns;
/// # fn adds_up<const A: usize, const B: usize, const N: usize>() where Columns: ConcatSizes<A, B, N> {}
/// adds_up::<3, 8, 12>(); // the branches of a `Concat` give 3 + 8 values per sample, but …
/// ```
pub trait ConcatSizes<const NA: usize, const NB: usize, const N: usize> {}

impl<const NA: usize, const NB: usize, const N: usize> ConcatSizes<NA, NB, N> for Columns
where
    Const<NA>: ToUInt,
    Const<NB>: ToUInt,
    Const<N>: ToUInt,
    U<NA>: Add<U<NB>>,
    Sum<U<NA>, U<NB>>: IsEqual<U<N>>,
    Columns: SizesAddUp<NA, NB, N, typenum::Eq<Sum<U<NA>, U<NB>>, U<N>>>,
{
}

/// `Columns: SizesAddUp<NA, NB, N, E>` holds exactly when `E` is
/// `typenum::B1`, the type-level answer to `NA + NB == N`: the last step of
/// [`ConcatSizes`], whose error message names the three sizes.
///
/// ```
/// use staticnet::SizesAddUp;
/// use staticnet::shape::Columns;
///
/// fn holds<T: SizesAddUp<1, 2, 3, typenum::B1>>() {}
/// holds::<Columns>();
/// ```
#[diagnostic::on_unimplemented(
    message = "the branches of a `Concat` give {NA} + {NB} values per sample, but its size is written as {N}",
    label = "the first branch gives {NA} and the second {NB} values per sample, but the `Concat` says {N}",
    note = "in `Concat<A, B, N>`, N must be the sum of the branches' output sizes: write {NA} + {NB} as one number"
)]
pub trait SizesAddUp<const NA: usize, const NB: usize, const N: usize, E> {}

impl<const NA: usize, const NB: usize, const N: usize> SizesAddUp<NA, NB, N, B1> for Columns {}

/// `[a; b]`: `a` in the first `NA` rows, `b` in the next `NB`.
#[inline]
fn stack<T: Scalar, const NA: usize, const NB: usize, const N: usize, const C: usize>(
    a: &SMatrix<T, NA, C>,
    b: &SMatrix<T, NB, C>,
) -> SMatrix<T, N, C>
where
    Columns: ConcatSizes<NA, NB, N>,
{
    // The views are in bounds: `ConcatSizes` proved NA + NB == N.
    let mut y = SMatrix::<T, N, C>::zeros();
    y.fixed_view_mut::<NA, C>(0, 0).copy_from(a);
    y.fixed_view_mut::<NB, C>(NA, 0).copy_from(b);
    y
}

/// `(dy[..NA], dy[NA..])`: the rows of each branch.
#[inline]
fn split<T: Scalar, const NA: usize, const NB: usize, const N: usize, const C: usize>(
    dy: &SMatrix<T, N, C>,
) -> (SMatrix<T, NA, C>, SMatrix<T, NB, C>)
where
    Columns: ConcatSizes<NA, NB, N>,
{
    (
        dy.fixed_view::<NA, C>(0, 0).into_owned(),
        dy.fixed_view::<NB, C>(NA, 0).into_owned(),
    )
}

impl<T, A, B, const I: usize, const NA: usize, const NB: usize, const N: usize, const C: usize>
    Module<SMatrix<T, I, C>> for Concat<A, B, N>
where
    T: Scalar,
    A: Module<SMatrix<T, I, C>, Output = SMatrix<T, NA, C>>,
    B: Module<SMatrix<T, I, C>, Output = SMatrix<T, NB, C>>,
    Columns: ConcatSizes<NA, NB, N>,
{
    type Output = SMatrix<T, N, C>;
    const WIDE: bool = A::WIDE || B::WIDE;
    #[inline]
    fn forward(&self, x: &SMatrix<T, I, C>) -> SMatrix<T, N, C> {
        stack(&self.a.forward(x), &self.b.forward(x))
    }
}

impl<T, A, B, const I: usize, const NA: usize, const NB: usize, const N: usize, const C: usize>
    Train<SMatrix<T, I, C>> for Concat<A, B, N>
where
    T: Scalar,
    A: Train<SMatrix<T, I, C>, Output = SMatrix<T, NA, C>>,
    B: Train<SMatrix<T, I, C>, Output = SMatrix<T, NB, C>>,
    Columns: ConcatSizes<NA, NB, N>,
{
    /// The tapes of `a` and `b`.
    type Tape = (A::Tape, B::Tape);
    #[inline]
    fn forward_tape(
        &self,
        x: &SMatrix<T, I, C>,
        mode: &mut Mode<'_>,
    ) -> (SMatrix<T, N, C>, Self::Tape) {
        let (ya, ta) = self.a.forward_tape(x, mode);
        let (yb, tb) = self.b.forward_tape(x, mode);
        (stack(&ya, &yb), (ta, tb))
    }
    #[inline]
    fn backward(
        &self,
        tape: &Self::Tape,
        dy: &SMatrix<T, N, C>,
        grad: &mut Self,
    ) -> SMatrix<T, I, C> {
        let (da, db) = split(dy);
        self.a.backward(&tape.0, &da, &mut grad.a) + self.b.backward(&tape.1, &db, &mut grad.b)
    }
    #[inline]
    fn backward_params(&self, tape: &Self::Tape, dy: &SMatrix<T, N, C>, grad: &mut Self) {
        let (da, db) = split(dy);
        self.a.backward_params(&tape.0, &da, &mut grad.a);
        self.b.backward_params(&tape.1, &db, &mut grad.b);
    }
    #[inline]
    fn update_buffers(&mut self, tape: &Self::Tape) {
        self.a.update_buffers(&tape.0);
        self.b.update_buffers(&tape.1);
    }
}

impl<A, B, const N: usize> Layer for Concat<A, B, N> {
    const KIND: &'static str = "Concat";
}

/// The tensors of `a`, then those of `b`, under the kind `Concat` with the
/// setting `size` (`N`).
impl<T: Scalar, A: Params<T>, B: Params<T>, const N: usize> Params<T> for Concat<A, B, N> {
    const NUM_PARAMS: usize = A::NUM_PARAMS + B::NUM_PARAMS;
    const NUM_BUFFERS: usize = A::NUM_BUFFERS + B::NUM_BUFFERS;

    fn zeros() -> Self {
        Concat {
            a: A::zeros(),
            b: B::zeros(),
        }
    }

    #[inline]
    fn tensors<const R: usize, const W: usize>(
        read: [&Self; R],
        mut write: [&mut Self; W],
        f: &mut impl FnMut(TensorInfo, [&[T]; R], [&mut [T]; W]),
    ) {
        A::tensors(read.map(|r| &r.a), write.each_mut().map(|w| &mut w.a), f);
        B::tensors(read.map(|r| &r.b), write.each_mut().map(|w| &mut w.b), f);
    }


    fn init<G: Rng + ?Sized>(&mut self, init: Init, rng: &mut G) {
        self.a.init(init, rng);
        self.b.init(init, rng);
    }

    fn settings(&self, f: &mut impl FnMut(&'static str, Setting)) {
        f("size", Setting::Size(N));
    }

    fn describe(&self, f: &mut impl FnMut(Node)) {
        f(Node::Begin(Self::KIND));
        self.settings(&mut |name, s| f(Node::Setting(name, s)));
        self.a.describe(f);
        self.b.describe(f);
        f(Node::End);
    }

    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.text("staticnet::Concat<")?;
        A::rust_type(src)?;
        src.text(", ")?;
        B::rust_type(src)?;
        src.fmt(format_args!(", {N}>"))
    }

    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.text("staticnet::Concat::new(")?;
        src.indent();
        src.newline()?;
        self.a.rust_value(src)?;
        src.text(",")?;
        src.newline()?;
        self.b.rust_value(src)?;
        src.text(",")?;
        src.dedent();
        src.newline()?;
        src.text(")")
    }
}
