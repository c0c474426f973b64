//! Streaming inference: one step of a sequence at a time.
//!
//! A sequence model in an audio callback or an interrupt handler sees one
//! step `x_t` at a time and must answer `y_t` at once. [`Stream::step`] does
//! that with a state the caller keeps (a recurrent layer's hidden state, a
//! causal convolution's last inputs in a ring buffer), so no heap and no
//! hidden globals. Streaming a whole sequence gives what the network's
//! whole-sequence [`forward`](crate::Module::forward) gives, step for step.
//!
//! A tuple of streaming layers streams; its state is the tuple of their
//! states. Layers that act on each step alone ([`Dense`](crate::Dense),
//! the element-wise activations) stream with an empty state.
//!
//! ```
//! use staticnet::nalgebra::SVector;
//! use staticnet::stream::Stream;
//! use staticnet::{Dense, Tanh};
//!
//! let net = (Dense::<1, 2>::from_rows([[1.0], [-1.0]], [0.0, 0.5]), Tanh);
//! let mut state = net.start();
//! let y = net.step(&mut state, &SVector::from([0.25]));
//! assert_eq!(y, SVector::from([0.25f32.tanh(), 0.25f32.tanh()]));
//! ```

/// A layer (or network) that maps a sequence step by step, keeping what it
/// needs of the past in a [`State`](Stream::State) the caller holds.
///
/// `X` is one step's input (`SVector<T, C>`).
pub trait Stream<X> {
    /// What the layer remembers between steps; `size_of` of it is the
    /// memory a stream needs besides the weights.
    type State: Clone;
    /// One step's output.
    type Output;
    /// Whether a step through this layer is worth compiling for AVX-512F
    /// and AVX-512VL where the CPU has them, as
    /// [`Module::WIDE`](crate::Module::WIDE) (a tuple takes the `or` of its
    /// layers'). `false` by default.
    const WIDE: bool = false;
    /// The state before the first step: what the whole-sequence forward
    /// pass starts from (zeros: a zero hidden state, zero padding before a
    /// causal convolution's first step).
    fn start(&self) -> Self::State;
    /// Maps one step, updating the state.
    fn step(&self, state: &mut Self::State, x: &X) -> Self::Output;
}

macro_rules! stream_tuples {
    ($([$($L:ident $i:tt $In:ident $Out:ident),+] out $Y:ident;)+) => {$(
        impl<X, $($L, $Out),+> Stream<X> for ($($L,)+)
        where
            $($L: Stream<$In, Output = $Out>,)+
            $Y: Copy,
        {
            type State = ($(<$L as Stream<$In>>::State,)+);
            type Output = $Y;
            const WIDE: bool = false $(|| <$L as Stream<$In>>::WIDE)+;
            fn start(&self) -> Self::State {
                ($(self.$i.start(),)+)
            }
            #[inline]
            fn step(&self, state: &mut Self::State, x: &X) -> $Y {
                crate::kernels::dispatch_step::<Self, X, _>(#[inline(always)] || {
                    let y = x;
                    $(let y = &self.$i.step(&mut state.$i, y);)+
                    *y
                })
            }
        }
    )+};
}

stream_tuples!(
    [L0 0 X Y1] out Y1;
    [L0 0 X Y1, L1 1 Y1 Y2] out Y2;
    [L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3] out Y3;
    [L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4] out Y4;
    [L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5] out Y5;
    [L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5, L5 5 Y5 Y6] out Y6;
    [L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5, L5 5 Y5 Y6, L6 6 Y6 Y7] out Y7;
    [L0 0 X Y1, L1 1 Y1 Y2, L2 2 Y2 Y3, L3 3 Y3 Y4, L4 4 Y4 Y5, L5 5 Y5 Y6, L6 6 Y6 Y7,
     L7 7 Y7 Y8] out Y8;
);
