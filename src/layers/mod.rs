//! The layers, one file per layer or family. Each implements
//! [`Module`](crate::Module), [`Train`](crate::Train) and
//! [`Params`](crate::Params), describing itself; nothing else in the crate
//! names a layer, so a new layer is its file plus its name in the list
//! below (which declares the module and re-exports its items).

/// `pub mod m; pub use m::*;` for each layer module.
macro_rules! layers {
    ($($module:ident),* $(,)?) => {
        $(
            pub mod $module;
            #[doc(no_inline)]
            pub use $module::*;
        )*
    };
}

layers!(
    activation,
    dense,
    batch_norm,
    layer_norm,
    dropout,
    residual,
    concat,
    standardize,
    conv1d,
    pool,
    gru,
    lstm,
);

// `Softmax` has its own file but keeps its first public home,
// `staticnet::activation::Softmax`, which re-exports it (a second glob
// export of the same item would be an unused import).
pub(crate) mod softmax;
