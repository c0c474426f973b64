//! Regression on real data: one-year-ahead forecasting of the yearly sunspot
//! numbers (1700–2008) from the previous 12 years, with a small dense
//! network (12 → 8 tanh → 1, Adam 0.003, batch 16, 200 epochs), on the
//! classic split: fit on the years up to 1920, test on
//! 1921–1955 and on 1956–1979.
//!
//! The network takes raw sunspot numbers and gives one in the same units:
//! its first layer is a `Standardize` fitted on the training inputs, and
//! its training targets are standardised too, with the inverse (`Rescale`)
//! appended for evaluation and saving. The saved file carries both
//! scalings, so the loaded model needs no other file.
//!
//! Scores: MSE and MAE in sunspot units, R², and the normalised MSE of the
//! literature (MSE divided by the variance of the whole series, 1700–2008).
//! The last line is the normalised MSE on 1921–1955.
//!
//!     cargo run --release --example regression [-- --seed N] [-- --plot DIR]
//!
//! `--plot DIR` also writes `DIR/regression-training.svg`: the loss and the
//! R² on the training years and on 1921–1955 per epoch.

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::data::{Standardize, load_csv_targets};
use staticnet::io;
use staticnet::metrics::regression;
use staticnet::optim::Adam;
use staticnet::prelude::*;
use staticnet::train::{Control, Trainer};

use common::plot::EpochRow;

/// Years of history the model sees.
const WINDOW: usize = 12;

/// Raw sunspot numbers in, standardised prediction out (as trained).
type Body = (Standardize<WINDOW>, Dense<WINDOW, 8>, Tanh, Dense<8, 1>);
/// The deployed model: raw numbers in, raw number out.
type Model = (Body, Rescale<1>);

type Rows = Vec<(SVector<f32, WINDOW>, SVector<f32, 1>)>;

fn main() {
    let start = Instant::now();
    let args = common::args();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sunspots.csv");
    // Each row: the year (read as the input) and its sunspot number.
    let series = load_csv_targets::<f32, 1, 1>(path).unwrap_or_else(|e| panic!("{e}"));
    let years: Vec<i32> = series.iter().map(|(y, _)| y[0] as i32).collect();
    let values: Vec<f32> = series.iter().map(|(_, v)| v[0]).collect();

    // Windows of the previous WINDOW years, and the year they predict.
    let window = |from: i32, to: i32| -> Rows {
        (WINDOW..values.len())
            .filter(|&k| (from..=to).contains(&years[k]))
            .map(|k| {
                let history = SVector::from_fn(|i, _| values[k - WINDOW + i]);
                (history, SVector::from([values[k]]))
            })
            .collect()
    };
    let train = window(1700, 1920);
    let test_a = window(1921, 1955);
    let test_b = window(1956, 1979);

    // The scalings, from the training years only.
    let inputs = Standardize::fit(&train).unwrap_or_else(|e| panic!("{e}"));
    let targets = Standardize::fit_targets(&train).unwrap_or_else(|e| panic!("{e}"));
    let mut scaled = train.clone();
    targets.apply_targets(&mut scaled);

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let mut body = Body::random(Init::Xavier, &mut rng);
    body.0 = inputs;
    let mut trainer = Trainer::new(Adam::new(0.003))
        .epochs(200)
        .batch_size::<16>();
    if let Some(dir) = &args.plot {
        common::plot_dir(dir);
    }
    // The loss per epoch, and with --plot the R² on the training years and
    // on 1921–1955 (measured, never trained on).
    let mut curve: Vec<EpochRow> = Vec::new();
    trainer
        .fit(
            &mut body,
            &MeanSquared,
            &scaled,
            &mut rng,
            |report, body| {
                let (train_r2, test_r2) = if args.plot.is_some() {
                    let model = (body.clone(), targets.inverse());
                    (
                        Some(regression(&model, &train).r2),
                        Some(regression(&model, &test_a).r2),
                    )
                } else {
                    (None, None)
                };
                curve.push(EpochRow {
                    epoch: report.epoch + 1,
                    loss: report.train_loss,
                    train: train_r2,
                    held_out: test_r2,
                });
                Control::Continue
            },
        )
        .unwrap_or_else(|e| panic!("training failed: {e}"));
    println!(
        "trained on {} years (1712–1920) in {:.0} ms; training loss {:.4} → {:.4} (standardised units)",
        train.len(),
        start.elapsed().as_secs_f64() * 1e3,
        curve[0].loss,
        curve[curve.len() - 1].loss
    );
    if let Some(dir) = &args.plot {
        let path = dir.join("regression-training.svg");
        let title = format!("sunspots, 12 → 8 → 1, seed {}", args.seed);
        common::plot::training_curves(&path, &title, "R² (held out: 1921–1955)", &curve)
            .unwrap_or_else(|e| common::plot_failed(e));
        println!("wrote {}", path.display());
    }

    let model: Model = (body, targets.inverse());

    // The saved model takes raw numbers: the scalings are in the file.
    let file = std::env::temp_dir().join(format!("staticnet-sunspots-{}.bin", std::process::id()));
    io::save_file(&model, &file).unwrap_or_else(|e| panic!("{e}"));
    let mut loaded = Model::zeros();
    io::load_file(&mut loaded, &file).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_file(&file);
    assert_eq!(
        loaded.predict(&test_a[0].0),
        model.predict(&test_a[0].0),
        "the loaded model predicts as the trained one"
    );

    let report = common::PeriodReport::new(&values);
    let report = |name: &str, s| report.print(name, s);
    report("train 1712–1920", regression(&loaded, &train));
    let nmse = report("test  1921–1955", regression(&loaded, &test_a));
    report("test  1956–1979", regression(&loaded, &test_b));
    println!("test nmse: {nmse:.4}");
}
