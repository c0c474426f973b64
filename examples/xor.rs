//! XOR from a random start: 2 → 8 (tanh) → 1, binary cross-entropy on the
//! output logit, trained with full-batch SGD with momentum.
//!
//!     cargo run --release --example xor [-- --seed N]

#[path = "common/mod.rs"]
mod common;

use nalgebra::SVector;
use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::optim::Sgd;
use staticnet::prelude::*;
use staticnet::train::{Control, Trainer};

type Net = (Dense<2, 8>, Tanh, Dense<8, 1>);

fn main() {
    let args = common::args();
    let data = [
        ([0.0, 0.0], 0.0),
        ([0.0, 1.0], 1.0),
        ([1.0, 0.0], 1.0),
        ([1.0, 1.0], 0.0),
    ]
    .map(|(x, t)| (SVector::from(x), SVector::from([t])));

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let mut net = Net::random(Init::Xavier, &mut rng);
    let summary = Trainer::new(Sgd::new(0.5).momentum(0.9))
        .epochs(300)
        .batch_size::<4>()
        .fit(&mut net, &BinaryCrossEntropy, &data, &mut rng, |_, _| {
            Control::Continue
        })
        .unwrap_or_else(|e| panic!("training failed: {e}"));
    println!(
        "trained {} steps, final loss {:.5}",
        summary.steps, summary.train_loss
    );

    for (x, t) in &data {
        let p = Sigmoid.value(net.predict(x)[0]);
        println!("{} XOR {} = {:.4} (target {})", x[0], x[1], p, t[0]);
    }
}
