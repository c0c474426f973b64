//! Tuples of int8 layers, the [`Quantized`] network and [`quantize`].

use core::fmt;

use nalgebra::SVector;

use super::layers::{qparams_tensors, qparams_tensors_mut};
use super::{
    Calibration, Pass, QData, QDataMut, QLayer, QModule, QParams, QuantError, Quantize, RangeStats,
    Summary, tensor_node,
};
use crate::data::Dataset;
use crate::metrics::Class;
use crate::module::{Checked, Isa};
use crate::params::RustSource;
use crate::params::{Node, Shape};

/// The absorbed range handed to element `i`: the next element's
/// [`Quantize::absorbed_range`], or for the last element the tuple's own.
macro_rules! next_absorbed {
    ($stats:ident $cal:ident $absorbed:ident $Out:ident) => {
        $absorbed
    };
    ($stats:ident $cal:ident $absorbed:ident $Out:ident $NL:ident $ni:tt) => {
        <$NL as Quantize<$Out>>::absorbed_range(&$stats.$ni, $cal)
    };
}

/// A tuple's `forward_into_on`: every element but the last by value, the
/// last into `out`, each with the kernels `isa` names.
macro_rules! into_body {
    ($self:ident $x:ident $out:ident $isa:ident; [$last:tt]) => {
        $self.$last.forward_into_on($x, $out, $isa)
    };
    ($self:ident $x:ident $out:ident $isa:ident; [$first:tt $($mid:tt)*] $last:tt) => {{
        let y = $self.$first.forward_on($x, $isa);
        $(let y = $self.$mid.forward_on(&y, $isa);)*
        $self.$last.forward_into_on(&y, $out, $isa)
    }};
}

macro_rules! quant_tuple {
    ([$($L:ident $i:tt $In:ident $Out:ident [$($NL:ident $ni:tt)?]),+] out $Y:ident; rest [$($r:tt)*]; into $($into:tt)+) => {
        impl<X, $($L, $Out),+> Quantize<X> for ($($L,)+)
        where
            $($L: Quantize<$In, Output = $Out>,)+
        {
            type Quantized = ($($L::Quantized,)+);
            type Stats = ($($L::Stats,)+);
            fn stats() -> Self::Stats {
                ($($L::stats(),)+)
            }
            fn observe(&self, x: &X, stats: &mut Self::Stats, pass: Pass) -> ($Y, bool) {
                let (y, ok) = self.0.observe(x, &mut stats.0, pass);
                $(let (y, more) = self.$r.observe(&y, &mut stats.$r, pass); let ok = ok & more;)*
                (y, ok)
            }
            fn absorbed_range(stats: &Self::Stats, calibration: Calibration) -> Option<(f32, f32)> {
                L0::absorbed_range(&stats.0, calibration)
            }
            #[allow(non_snake_case)]
            fn quantize(
                &self,
                stats: &Self::Stats,
                calibration: Calibration,
                input: QParams,
                absorbed: Option<(f32, f32)>,
            ) -> Result<(Self::Quantized, QParams), QuantError> {
                let p = input;
                $(
                    let next = next_absorbed!(stats calibration absorbed $Out $($NL $ni)?);
                    let ($L, p) = self.$i.quantize(&stats.$i, calibration, p, next)?;
                )+
                Ok((($($L,)+), p))
            }
        }

        impl<X, $($L, $Out),+> QModule<X> for ($($L,)+)
        where
            $($L: QModule<$In, Output = $Out>,)+
        {
            type Output = $Y;
            // Each layer asking for itself (`Checked`): what a tuple called
            // outside `Quantized`, which asks once, runs.
            #[inline]
            fn forward(&self, x: &X) -> $Y {
                self.forward_on(x, Checked)
            }
            #[inline]
            fn forward_into(&self, x: &X, out: &mut $Y) {
                self.forward_into_on(x, out, Checked);
            }
            #[inline(always)]
            fn forward_on<K: Isa>(&self, x: &X, isa: K) -> $Y {
                let y = self.0.forward_on(x, isa);
                $(let y = self.$r.forward_on(&y, isa);)*
                y
            }
            #[inline(always)]
            fn forward_into_on<K: Isa>(&self, x: &X, out: &mut $Y, isa: K) {
                into_body!(self x out isa; $($into)+)
            }
        }

        impl<$($L: QLayer),+> QLayer for ($($L,)+) {
            const KIND: &'static str = "Sequential";
            fn tensors(&self, f: &mut dyn FnMut(&'static str, Shape, QData<'_>)) {
                $(self.$i.tensors(f);)+
            }
            fn tensors_mut(&mut self, f: &mut dyn FnMut(&'static str, Shape, QDataMut<'_>)) {
                $(self.$i.tensors_mut(f);)+
            }
            fn describe(&self, f: &mut dyn FnMut(Node)) {
                f(Node::Begin(Self::KIND));
                $(self.$i.describe(f);)+
                f(Node::End);
            }
            fn summary(&self, f: &mut dyn FnMut(&Summary)) {
                $(self.$i.summary(f);)+
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

quant_tuple!([L0 0 X Y1 []] out Y1; rest []; into [0]);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 []] out Y2; rest [1]; into [0] 1);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 [L2 2], L2 2 Y2 Y3 []] out Y3; rest [1 2]; into [0 1] 2);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 [L2 2], L2 2 Y2 Y3 [L3 3], L3 3 Y3 Y4 []] out Y4; rest [1 2 3]; into [0 1 2] 3);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 [L2 2], L2 2 Y2 Y3 [L3 3], L3 3 Y3 Y4 [L4 4], L4 4 Y4 Y5 []] out Y5; rest [1 2 3 4]; into [0 1 2 3] 4);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 [L2 2], L2 2 Y2 Y3 [L3 3], L3 3 Y3 Y4 [L4 4], L4 4 Y4 Y5 [L5 5], L5 5 Y5 Y6 []] out Y6; rest [1 2 3 4 5]; into [0 1 2 3 4] 5);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 [L2 2], L2 2 Y2 Y3 [L3 3], L3 3 Y3 Y4 [L4 4], L4 4 Y4 Y5 [L5 5], L5 5 Y5 Y6 [L6 6], L6 6 Y6 Y7 []] out Y7; rest [1 2 3 4 5 6]; into [0 1 2 3 4 5] 6);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 [L2 2], L2 2 Y2 Y3 [L3 3], L3 3 Y3 Y4 [L4 4], L4 4 Y4 Y5 [L5 5], L5 5 Y5 Y6 [L6 6], L6 6 Y6 Y7 [L7 7], L7 7 Y7 Y8 []] out Y8; rest [1 2 3 4 5 6 7]; into [0 1 2 3 4 5 6] 7);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 [L2 2], L2 2 Y2 Y3 [L3 3], L3 3 Y3 Y4 [L4 4], L4 4 Y4 Y5 [L5 5], L5 5 Y5 Y6 [L6 6], L6 6 Y6 Y7 [L7 7], L7 7 Y7 Y8 [L8 8], L8 8 Y8 Y9 []] out Y9; rest [1 2 3 4 5 6 7 8]; into [0 1 2 3 4 5 6 7] 8);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 [L2 2], L2 2 Y2 Y3 [L3 3], L3 3 Y3 Y4 [L4 4], L4 4 Y4 Y5 [L5 5], L5 5 Y5 Y6 [L6 6], L6 6 Y6 Y7 [L7 7], L7 7 Y7 Y8 [L8 8], L8 8 Y8 Y9 [L9 9], L9 9 Y9 Y10 []] out Y10; rest [1 2 3 4 5 6 7 8 9]; into [0 1 2 3 4 5 6 7 8] 9);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 [L2 2], L2 2 Y2 Y3 [L3 3], L3 3 Y3 Y4 [L4 4], L4 4 Y4 Y5 [L5 5], L5 5 Y5 Y6 [L6 6], L6 6 Y6 Y7 [L7 7], L7 7 Y7 Y8 [L8 8], L8 8 Y8 Y9 [L9 9], L9 9 Y9 Y10 [L10 10], L10 10 Y10 Y11 []] out Y11; rest [1 2 3 4 5 6 7 8 9 10]; into [0 1 2 3 4 5 6 7 8 9] 10);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 [L2 2], L2 2 Y2 Y3 [L3 3], L3 3 Y3 Y4 [L4 4], L4 4 Y4 Y5 [L5 5], L5 5 Y5 Y6 [L6 6], L6 6 Y6 Y7 [L7 7], L7 7 Y7 Y8 [L8 8], L8 8 Y8 Y9 [L9 9], L9 9 Y9 Y10 [L10 10], L10 10 Y10 Y11 [L11 11], L11 11 Y11 Y12 []] out Y12; rest [1 2 3 4 5 6 7 8 9 10 11]; into [0 1 2 3 4 5 6 7 8 9 10] 11);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 [L2 2], L2 2 Y2 Y3 [L3 3], L3 3 Y3 Y4 [L4 4], L4 4 Y4 Y5 [L5 5], L5 5 Y5 Y6 [L6 6], L6 6 Y6 Y7 [L7 7], L7 7 Y7 Y8 [L8 8], L8 8 Y8 Y9 [L9 9], L9 9 Y9 Y10 [L10 10], L10 10 Y10 Y11 [L11 11], L11 11 Y11 Y12 [L12 12], L12 12 Y12 Y13 []] out Y13; rest [1 2 3 4 5 6 7 8 9 10 11 12]; into [0 1 2 3 4 5 6 7 8 9 10 11] 12);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 [L2 2], L2 2 Y2 Y3 [L3 3], L3 3 Y3 Y4 [L4 4], L4 4 Y4 Y5 [L5 5], L5 5 Y5 Y6 [L6 6], L6 6 Y6 Y7 [L7 7], L7 7 Y7 Y8 [L8 8], L8 8 Y8 Y9 [L9 9], L9 9 Y9 Y10 [L10 10], L10 10 Y10 Y11 [L11 11], L11 11 Y11 Y12 [L12 12], L12 12 Y12 Y13 [L13 13], L13 13 Y13 Y14 []] out Y14; rest [1 2 3 4 5 6 7 8 9 10 11 12 13]; into [0 1 2 3 4 5 6 7 8 9 10 11 12] 13);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 [L2 2], L2 2 Y2 Y3 [L3 3], L3 3 Y3 Y4 [L4 4], L4 4 Y4 Y5 [L5 5], L5 5 Y5 Y6 [L6 6], L6 6 Y6 Y7 [L7 7], L7 7 Y7 Y8 [L8 8], L8 8 Y8 Y9 [L9 9], L9 9 Y9 Y10 [L10 10], L10 10 Y10 Y11 [L11 11], L11 11 Y11 Y12 [L12 12], L12 12 Y12 Y13 [L13 13], L13 13 Y13 Y14 [L14 14], L14 14 Y14 Y15 []] out Y15; rest [1 2 3 4 5 6 7 8 9 10 11 12 13 14]; into [0 1 2 3 4 5 6 7 8 9 10 11 12 13] 14);
quant_tuple!([L0 0 X Y1 [L1 1], L1 1 Y1 Y2 [L2 2], L2 2 Y2 Y3 [L3 3], L3 3 Y3 Y4 [L4 4], L4 4 Y4 Y5 [L5 5], L5 5 Y5 Y6 [L6 6], L6 6 Y6 Y7 [L7 7], L7 7 Y7 Y8 [L8 8], L8 8 Y8 Y9 [L9 9], L9 9 Y9 Y10 [L10 10], L10 10 Y10 Y11 [L11 11], L11 11 Y11 Y12 [L12 12], L12 12 Y12 Y13 [L13 13], L13 13 Y13 Y14 [L14 14], L14 14 Y14 Y15 [L15 15], L15 15 Y15 Y16 []] out Y16; rest [1 2 3 4 5 6 7 8 9 10 11 12 13 14 15]; into [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14] 15);

/// The index of the largest value (the first one on ties): the predicted
/// class from int8 logits, the same as from the real logits they stand for
/// (dequantising is increasing).
///
/// ```
/// assert_eq!(staticnet::quant::argmax_i8(&[-3, 7, 7, 2]), 1);
/// ```
pub fn argmax_i8(y: &[i8]) -> usize {
    let mut best = 0;
    for (k, &v) in y.iter().enumerate() {
        if v > y[best] {
            best = k;
        }
    }
    best
}

/// A quantised network: its int8 layers `Q` (a tuple such as
/// `(QDense<64, 32>, QRelu, QDense<32, 10>)`) between the parameters of its
/// `I` inputs and its `O` outputs. Made by [`quantize`]; a `const fn`
/// constructor and [`Quantized::to_rust`] put it in flash.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized<Q, const I: usize, const O: usize> {
    /// How real inputs map to int8 ([`Quantized::quantize_input`]).
    pub input: QParams,
    /// The int8 layers.
    pub layers: Q,
    /// What the int8 outputs stand for ([`Quantized::dequantize_output`]).
    pub output: QParams,
}

impl<Q, const I: usize, const O: usize> Quantized<Q, I, O> {
    /// A network from its parts.
    pub const fn new(input: QParams, layers: Q, output: QParams) -> Self {
        Quantized {
            input,
            layers,
            output,
        }
    }

    /// The input in int8: `round(x / scale) + zero_point`, saturated (a
    /// host-side or FPU step; a sensor that gives int8 skips it).
    pub fn quantize_input(&self, x: &SVector<f32, I>) -> [i8; I] {
        core::array::from_fn(|i| self.input.quantize(x[i]))
    }

    /// The real values int8 outputs stand for.
    pub fn dequantize_output(&self, y: &[i8; O]) -> SVector<f32, O> {
        SVector::from_fn(|o, _| self.output.dequantize(y[o]))
    }
}

impl<Q: QModule<[i8; I], Output = [i8; O]>, const I: usize, const O: usize> Quantized<Q, I, O> {
    /// The int8 outputs for int8 inputs: integer arithmetic only.
    ///
    /// On x86-64 the whole pass runs compiled for AVX2 where the CPU has it
    /// (as the `f32` networks do), with the same results bit for bit: the
    /// CPU is asked once, and the answer handed to the layers as a type
    /// ([`QModule::forward_on`]), so that their kernels run without asking
    /// again and inline into the pass.
    #[inline]
    pub fn forward(&self, x: &[i8; I]) -> [i8; O] {
        #[cfg(target_arch = "x86_64")]
        {
            crate::kernels::dispatch_on(
                #[inline(always)]
                |cpu| self.layers.forward_on(x, cpu),
                #[inline(always)]
                |plain| self.layers.forward_on(x, plain),
            )
        }
        // Elsewhere there is nothing to ask: the layers' `forward`s, as
        // `embedded/footprint.sh` measured them.
        #[cfg(not(target_arch = "x86_64"))]
        {
            crate::kernels::dispatch(
                #[inline(always)]
                || self.layers.forward(x),
            )
        }
    }

    /// [`forward`](Quantized::forward) into `out`: the last layer writes
    /// its outputs there directly (no copy of the result; on a
    /// microcontroller, no call to `memcpy`).
    #[inline]
    pub fn forward_into(&self, x: &[i8; I], out: &mut [i8; O]) {
        #[cfg(target_arch = "x86_64")]
        {
            // One of the two closures runs; both name `out`, so it is
            // handed over through a cell.
            let out = core::cell::Cell::new(Some(out));
            crate::kernels::dispatch_on(
                #[inline(always)]
                |cpu| {
                    if let Some(out) = out.take() {
                        self.layers.forward_into_on(x, out, cpu);
                    }
                },
                #[inline(always)]
                |plain| {
                    if let Some(out) = out.take() {
                        self.layers.forward_into_on(x, out, plain);
                    }
                },
            )
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            crate::kernels::dispatch(
                #[inline(always)]
                || self.layers.forward_into(x, out),
            )
        }
    }

    /// Quantise, run, dequantise: the real outputs the int8 network gives
    /// for a real input.
    pub fn predict(&self, x: &SVector<f32, I>) -> SVector<f32, O> {
        self.dequantize_output(&self.forward(&self.quantize_input(x)))
    }

    /// The predicted class of a real input: [`argmax_i8`] of the int8
    /// outputs, or, for one output, as the `f32` network names it
    /// ([`Network::predict_class`](crate::Network::predict_class)): class 1
    /// above 0.5 after a sigmoid, above 0 for a logit.
    pub fn predict_class(&self, x: &SVector<f32, I>) -> usize
    where
        Q: QLayer,
    {
        let y = self.forward(&self.quantize_input(x));
        if O == 1 {
            // The last layer says whether the output is a probability.
            let mut last = "";
            self.layers.summary(&mut |s| last = s.function);
            let threshold = if last.ends_with("Sigmoid") { 0.5 } else { 0.0 };
            usize::from(self.output.dequantize(y[0]) > threshold)
        } else {
            argmax_i8(&y)
        }
    }

    /// The fraction of samples whose predicted class is their target (0 for
    /// an empty set).
    pub fn accuracy<D>(&self, data: &D) -> f64
    where
        D: Dataset<f32, I> + ?Sized,
        D::Target: Class,
        Q: QLayer,
    {
        let mut correct = 0usize;
        for i in 0..data.len() {
            correct += usize::from(self.predict_class(&data.input(i)) == data.target(i).class());
        }
        correct as f64 / data.len().max(1) as f64
    }
}

impl<Q: QLayer, const I: usize, const O: usize> Quantized<Q, I, O> {
    /// Calls `f` with each layer's [`Summary`], in order.
    pub fn summary(&self, f: &mut dyn FnMut(&Summary)) {
        self.layers.summary(f)
    }

    /// Writes the network as `pub static NAME: TYPE = VALUE;`, which compiles
    /// back into the same network (feature `std`).
    #[cfg(feature = "std")]
    pub fn to_rust(
        &self,
        name: &str,
    ) -> Result<std::string::String, crate::io::rust::CodegenError> {
        use std::string::String;
        crate::io::rust::check_ident(name)?;
        let (mut ty, mut value) = (String::new(), String::new());
        <Self as QLayer>::rust_type(&mut RustSource::new(&mut ty))
            .map_err(|_| crate::io::rust::CodegenError::LayerFailed)?;
        QLayer::rust_value(self, &mut RustSource::new(&mut value))
            .map_err(|_| crate::io::rust::CodegenError::LayerFailed)?;
        let ty = crate::io::rust::tidy_tuples(&ty);
        Ok(std::format!(
            "// Generated by staticnet::quant::Quantized::to_rust: int8, {} bytes of constants.\n\
             #[rustfmt::skip]\n\
             #[allow(clippy::type_complexity, clippy::excessive_precision)]\n\
             pub static {name}: {ty} = {value};\n",
            size_of::<Self>()
        ))
    }
}

fn write_qparams(src: &mut RustSource<'_>, p: QParams) -> fmt::Result {
    src.text("staticnet::quant::QParams::new(")?;
    src.scalar(p.scale)?;
    src.fmt(format_args!(", {})", p.zero_point))
}

/// The network as one layer: `Quantized` with the input's parameters, its
/// layers, and the output's parameters (what [`io::int8`](crate::io::int8)
/// saves and loads).
impl<Q: QLayer, const I: usize, const O: usize> QLayer for Quantized<Q, I, O> {
    const KIND: &'static str = "Quantized";
    fn tensors(&self, f: &mut dyn FnMut(&'static str, Shape, QData<'_>)) {
        qparams_tensors(
            ["input_scale (f32)", "input_zero_point (i8)"],
            &self.input,
            f,
        );
        self.layers.tensors(f);
        qparams_tensors(
            ["output_scale (f32)", "output_zero_point (i8)"],
            &self.output,
            f,
        );
    }
    fn tensors_mut(&mut self, f: &mut dyn FnMut(&'static str, Shape, QDataMut<'_>)) {
        qparams_tensors_mut(
            ["input_scale (f32)", "input_zero_point (i8)"],
            &mut self.input,
            f,
        );
        self.layers.tensors_mut(f);
        qparams_tensors_mut(
            ["output_scale (f32)", "output_zero_point (i8)"],
            &mut self.output,
            f,
        );
    }
    fn describe(&self, f: &mut dyn FnMut(Node)) {
        f(Node::Begin(Self::KIND));
        let input = ["input_scale (f32)", "input_zero_point (i8)"];
        qparams_tensors(input, &self.input, &mut |n, s, _| f(tensor_node(n, s)));
        self.layers.describe(f);
        let output = ["output_scale (f32)", "output_zero_point (i8)"];
        qparams_tensors(output, &self.output, &mut |n, s, _| f(tensor_node(n, s)));
        f(Node::End);
    }
    fn summary(&self, f: &mut dyn FnMut(&Summary)) {
        self.layers.summary(f)
    }
    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.text("staticnet::quant::Quantized<")?;
        Q::rust_type(src)?;
        src.fmt(format_args!(", {I}, {O}>"))
    }
    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.text("staticnet::quant::Quantized::new(")?;
        src.indent();
        src.newline()?;
        write_qparams(src, self.input)?;
        src.text(",")?;
        src.newline()?;
        self.layers.rust_value(src)?;
        src.text(",")?;
        src.newline()?;
        write_qparams(src, self.output)?;
        src.text(",")?;
        src.dedent();
        src.newline()?;
        src.text(")")
    }
}

/// A table of the layers: kind, input and output parameters, weight scales,
/// bytes.
impl<Q: QLayer, const I: usize, const O: usize> fmt::Display for Quantized<Q, I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "int8 network, {I} → {O}, {} bytes of constants; input: {}",
            size_of::<Self>(),
            self.input
        )?;
        let mut k = 0;
        let mut result = Ok(());
        self.layers.summary(&mut |s| {
            if result.is_err() {
                return;
            }
            let kind = if s.function.is_empty() {
                s.kind
            } else {
                s.function
            };
            result = write!(
                f,
                "  layer {k}: {:<9} out scale {:.4e} zero point {:>4}",
                kind, s.output.scale, s.output.zero_point
            )
            .and_then(|()| match s.weight_scales {
                Some((lo, hi)) => write!(f, ", weight scales {lo:.3e}…{hi:.3e}"),
                None => Ok(()),
            })
            .and_then(|()| writeln!(f, ", {} B", s.bytes));
            k += 1;
        });
        result
    }
}

/// Quantises `net` after calibrating its tensors' ranges on `data` (a
/// representative slice of the training inputs; the targets are not used).
///
/// Runs the `f32` network over the data once (twice for
/// [`Calibration::Percentile`]: extremes, then a histogram), then turns each
/// layer into its int8 form. Errors, with nothing else returned: an empty
/// set, a non-finite input or activation, a non-finite weight, a percentile
/// outside `(50, 100]`, a bias beyond the int32 accumulator, a multiplier
/// beyond `f32`'s scales.
pub fn quantize<N, D, const I: usize, const O: usize>(
    net: &N,
    data: &D,
    calibration: Calibration,
) -> Result<Quantized<N::Quantized, I, O>, QuantError>
where
    N: Quantize<SVector<f32, I>, Output = SVector<f32, O>>,
    D: Dataset<f32, I> + ?Sized,
{
    if let Calibration::Percentile(p) = calibration
        && !(p > 50.0 && p <= 100.0)
    {
        return Err(QuantError::Percentile(p));
    }
    if data.is_empty() {
        return Err(QuantError::Empty);
    }
    let mut input = RangeStats::new();
    let mut stats = N::stats();
    let passes: &[Pass] = match calibration {
        Calibration::MinMax => &[Pass::Range],
        Calibration::Percentile(_) => &[Pass::Range, Pass::Histogram],
    };
    for &pass in passes {
        for sample in 0..data.len() {
            let x = data.input(sample);
            if let Some(feature) = x.iter().position(|v| !v.is_finite()) {
                return Err(QuantError::NonFiniteInput {
                    sample,
                    feature,
                    value: x[feature],
                });
            }
            input.record(x.as_slice(), pass);
            let (_, ok) = net.observe(&x, &mut stats, pass);
            if !ok {
                return Err(QuantError::NonFiniteActivation { sample });
            }
        }
    }
    let (lo, hi) = input.range(calibration);
    let input = QParams::from_range(lo, hi);
    let (layers, output) = net.quantize(&stats, calibration, input, None)?;
    Ok(Quantized::new(input, layers, output))
}
