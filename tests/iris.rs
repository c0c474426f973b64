//! The iris recipe end to end (the same as `examples/iris.rs`): 4 → 16
//! (tanh) → 3, inputs standardised with the training set's statistics, plain
//! SGD with learning rate 0.1, batches of 16, shuffled epochs, 200 epochs,
//! test rows `i % 5 == 4`. Every seed 0..4 must reach 93% on the 30 test
//! flowers (at most two mistakes).

#[path = "../examples/common/mod.rs"]
mod example;

use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::data::Standardize;
use staticnet::metrics::accuracy;
use staticnet::optim::Sgd;
use staticnet::prelude::*;
use staticnet::train::{Control, Trainer};

type Net = (Dense<4, 16>, Tanh, Dense<16, 3>);

#[test]
fn iris_reaches_93_percent_for_every_seed_0_to_4() {
    let (mut train, mut test) = example::load_split::<4>("iris");
    assert_eq!((train.len(), test.len()), (120, 30));
    let standardize = Standardize::fit(&train[..]).unwrap();
    standardize.apply_all(&mut train);
    standardize.apply_all(&mut test);

    let accuracies: Vec<f64> = (0..5)
        .map(|seed| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let mut net = Net::random(Init::Xavier, &mut rng);
            Trainer::new(Sgd::new(0.1))
                .epochs(200)
                .batch_size::<16>()
                .fit(&mut net, &CrossEntropy, &train[..], &mut rng, |_, _| {
                    Control::Continue
                })
                .unwrap();
            accuracy(&net, &test[..])
        })
        .collect();
    assert!(
        accuracies.iter().all(|&a| a >= 0.93),
        "test accuracy per seed: {accuracies:?}"
    );
}
