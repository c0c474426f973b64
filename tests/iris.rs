//! The iris recipe end to end (the same as `examples/iris.rs`): 4 → 16
//! (tanh) → 3, inputs standardised with the training set's statistics, plain
//! SGD with learning rate 0.1, batches of 16, shuffled epochs, 200 epochs,
//! test rows `i % 5 == 4`. Every seed 0..4 must reach 93% on the 30 test
//! flowers (at most two mistakes).

use nalgebra::SVector;
use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::data::load_csv;
use staticnet::metrics::accuracy;
use staticnet::optim::Sgd;
use staticnet::prelude::*;
use staticnet::train::{Control, Trainer};

type Net = (Dense<4, 16>, Tanh, Dense<16, 3>);

#[test]
fn iris_reaches_93_percent_for_every_seed_0_to_4() {
    let rows = load_csv::<f32, 4>(concat!(env!("CARGO_MANIFEST_DIR"), "/data/iris.csv")).unwrap();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, row) in rows.into_iter().enumerate() {
        if i % 5 == 4 {
            test.push(row)
        } else {
            train.push(row)
        }
    }
    assert_eq!((train.len(), test.len()), (120, 30));
    let n = train.len() as f32;
    let mean = train
        .iter()
        .fold(SVector::<f32, 4>::zeros(), |m, (x, _)| m + x)
        / n;
    let var = train.iter().fold(SVector::<f32, 4>::zeros(), |v, (x, _)| {
        v + (x - mean).component_mul(&(x - mean))
    }) / n;
    let std = var.map(f32::sqrt);
    for (x, _) in train.iter_mut().chain(test.iter_mut()) {
        *x = (*x - mean).component_div(&std);
    }

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
