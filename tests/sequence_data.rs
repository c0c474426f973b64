//! Sequence data: the bundled time-series sets load into `Seq`s with their
//! documented shapes and classes and their values where the CSV puts them,
//! bad files give errors naming the line and the column, and per-channel
//! standardisation fits the right statistics and has exact gradients on
//! sequences.

mod common;

use common::{assert_gradcheck, flat, rng, set_flat, uniform};
use staticnet::data::{CsvErrorKind, DataError, Expected, SeqRows, load_sequences, read_sequences};
use staticnet::prelude::*;
use staticnet::stream::Stream;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/");

fn path(name: &str) -> String {
    format!("{DATA}{name}")
}

fn class_counts<T, const C: usize, const L: usize>(rows: &SeqRows<T, C, L, usize>) -> Vec<usize> {
    let mut counts = vec![0; 1 + rows.iter().map(|r| r.1).max().unwrap()];
    rows.iter().for_each(|(_, c)| counts[*c] += 1);
    counts
}

#[test]
fn the_bundled_sequence_sets_load_with_their_documented_shapes_and_classes() {
    let train = load_sequences::<f32, 1, 150>(path("gunpoint_train.csv")).unwrap();
    let test = load_sequences::<f32, 1, 150>(path("gunpoint_test.csv")).unwrap();
    assert_eq!((train.len(), test.len()), (50, 150));
    assert_eq!(class_counts(&train), [24, 26]);
    assert_eq!(class_counts(&test), [76, 74]);

    let train = load_sequences::<f32, 6, 100>(path("basicmotions_train.csv")).unwrap();
    let test = load_sequences::<f32, 6, 100>(path("basicmotions_test.csv")).unwrap();
    assert_eq!((train.len(), test.len()), (40, 40));
    assert_eq!(class_counts(&train), [10; 4]);
    assert_eq!(class_counts(&test), [10; 4]);
    // Every value is a finite number (the loader's guarantee).
    assert!(
        train
            .iter()
            .chain(&test)
            .all(|(x, _)| x.as_slice().iter().all(|v| v.is_finite()))
    );
}

/// Every value of a file's first and last rows, read as `f64` from the
/// text, against where the loader put it: field `c·L + t` in `data[0][t][c]`.
fn check_rows_against_text<const C: usize, const L: usize>(name: &str) {
    let text = std::fs::read_to_string(path(name)).unwrap();
    let rows = load_sequences::<f64, C, L>(path(name)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for (row, line) in [(0, lines[1]), (rows.len() - 1, lines[lines.len() - 1])] {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), C * L + 1);
        let (x, class) = &rows[row];
        for c in 0..C {
            for t in 0..L {
                let want: f64 = fields[c * L + t].parse().unwrap();
                assert_eq!(
                    x.data[0][t][c].to_bits(),
                    want.to_bits(),
                    "{name}, row {row}, channel {c}, step {t}"
                );
            }
        }
        assert_eq!(*class, fields[C * L].parse::<usize>().unwrap());
        // The first and last values by name, and the channel order.
        assert_eq!(x.data[0][0][0], fields[0].parse::<f64>().unwrap());
        assert_eq!(
            x.data[0][L - 1][C - 1],
            fields[C * L - 1].parse::<f64>().unwrap()
        );
        if C > 1 {
            // `c1_t0` is field L: step 0 of channel 1.
            assert_eq!(x.data[0][0][1], fields[L].parse::<f64>().unwrap());
            assert_eq!(x.channel(0, 1)[0], x.data[0][0][1]);
        }
    }
}

#[test]
fn values_land_where_the_csv_puts_them() {
    check_rows_against_text::<1, 150>("gunpoint_train.csv");
    check_rows_against_text::<1, 150>("gunpoint_test.csv");
    check_rows_against_text::<6, 100>("basicmotions_train.csv");
    check_rows_against_text::<6, 100>("basicmotions_test.csv");

    // A small file by hand: channel-major in the file, step by step in
    // the `Seq`.
    let text = "c0_t0,c0_t1,c0_t2,c1_t0,c1_t1,c1_t2,target\n1,2,3,10,20,30,1\n-1,-2,-3,4,5,6,0\n";
    let rows = read_sequences::<f32, 2, 3>(text.as_bytes()).unwrap();
    assert_eq!(
        rows[0].0,
        Seq::from_steps([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    );
    assert_eq!(
        rows[1].0,
        Seq::from_channels([[-1.0, -2.0, -3.0], [4.0, 5.0, 6.0]])
    );
    assert_eq!((rows[0].1, rows[1].1), (1, 0));
    // Spaces, quotes and Windows line endings are fine; so is a file with
    // no rows.
    let text = "\"c0_t0\", c0_t1 ,target\r\n 1 ,2, 1 \r\n";
    let rows = read_sequences::<f64, 1, 2>(text.as_bytes()).unwrap();
    assert_eq!((rows[0].0.data[0], rows[0].1), ([[1.0], [2.0]], 1));
    assert!(
        read_sequences::<f32, 1, 2>("c0_t0,c0_t1,target\n".as_bytes())
            .unwrap()
            .is_empty()
    );
}

/// What a bad sequence file must give.
#[derive(Debug)]
enum Want {
    Count {
        line: u64,
        found: usize,
    },
    Value {
        line: u64,
        column: usize,
        name: &'static str,
        expected: Expected,
    },
    Header {
        column: usize,
        found: &'static str,
        expected: &'static str,
    },
    Malformed {
        line: u64,
    },
    MissingHeader,
}

/// Reads `text` as sequences of 2 channels of 3 steps.
fn check(text: &[u8], want: Want) {
    let err = read_sequences::<f32, 2, 3>(text).unwrap_err();
    let ok = match (&err.kind, &want) {
        (
            CsvErrorKind::ColumnCount {
                line,
                inputs,
                targets,
                found,
            },
            Want::Count { line: l, found: f },
        ) => line == l && found == f && *inputs == 6 && *targets == 1,
        (
            CsvErrorKind::Value {
                line,
                column,
                name,
                expected,
                ..
            },
            Want::Value {
                line: l,
                column: c,
                name: n,
                expected: e,
            },
        ) => line == l && column == c && name == n && expected == e,
        (
            CsvErrorKind::Header {
                column,
                found,
                expected,
            },
            Want::Header {
                column: c,
                found: f,
                expected: e,
            },
        ) => column == c && found == f && expected == e,
        (CsvErrorKind::Malformed { line, .. }, Want::Malformed { line: l }) => line == l,
        (CsvErrorKind::MissingHeader, Want::MissingHeader) => true,
        _ => false,
    };
    assert!(
        ok,
        "{:?}: got {err:?}, want {want:?}",
        String::from_utf8_lossy(text)
    );
    assert!(err.path.is_none());
    let message = err.to_string();
    assert!(message.len() < 300, "{message}");
}

#[test]
fn every_bad_input_gives_its_error_with_line_and_column() {
    use Expected::*;
    let h = "c0_t0,c0_t1,c0_t2,c1_t0,c1_t1,c1_t2,target\n";
    let ok = "1,2,3,4,5,6,0\n";
    let cases: Vec<(Vec<u8>, Want)> = vec![
        // Wrong column counts: a short row, a long row, a header for
        // another shape.
        (
            format!("{h}{ok}1,2,3,4,5,6\n").into(),
            Want::Count { line: 3, found: 6 },
        ),
        (
            format!("{h}1,2,3,4,5,6,7,0\n").into(),
            Want::Count { line: 2, found: 8 },
        ),
        (
            format!("c0_t0,c0_t1,target\n{ok}").into(),
            Want::Count { line: 1, found: 3 },
        ),
        // The class missing: no target column at all, an empty field, a
        // header that calls it something else.
        (
            "c0_t0,c0_t1,c0_t2,c1_t0,c1_t1,c1_t2\n1,2,3,4,5,6\n".into(),
            Want::Count { line: 1, found: 6 },
        ),
        (
            format!("{h}1,2,3,4,5,6,\n").into(),
            Want::Value {
                line: 2,
                column: 7,
                name: "target",
                expected: Class,
            },
        ),
        (
            format!("c0_t0,c0_t1,c0_t2,c1_t0,c1_t1,c1_t2,label\n{ok}").into(),
            Want::Header {
                column: 7,
                found: "label",
                expected: "target",
            },
        ),
        // Bad classes.
        (
            format!("{h}1,2,3,4,5,6,-1\n").into(),
            Want::Value {
                line: 2,
                column: 7,
                name: "target",
                expected: Class,
            },
        ),
        (
            format!("{h}{ok}1,2,3,4,5,6,1.0\n").into(),
            Want::Value {
                line: 3,
                column: 7,
                name: "target",
                expected: Class,
            },
        ),
        // Values that are not numbers, named by their column.
        (
            format!("{h}{ok}1,2,3,x,5,6,0\n").into(),
            Want::Value {
                line: 3,
                column: 4,
                name: "c1_t0",
                expected: Number,
            },
        ),
        (
            format!("{h}1,,3,4,5,6,0\n").into(),
            Want::Value {
                line: 2,
                column: 2,
                name: "c0_t1",
                expected: Number,
            },
        ),
        (
            format!("{h}1,2,3,4,5,NaN,0\n").into(),
            Want::Value {
                line: 2,
                column: 6,
                name: "c1_t2",
                expected: Number,
            },
        ),
        (
            format!("{h}1,2,inf,4,5,6,0\n").into(),
            Want::Value {
                line: 2,
                column: 3,
                name: "c0_t2",
                expected: Number,
            },
        ),
        (
            format!("{h}1,2,3,4,1e39,6,0\n").into(),
            Want::Value {
                line: 2,
                column: 5,
                name: "c1_t1",
                expected: InRange("f32"),
            },
        ),
        // Headers of another layout with as many columns: step-major
        // order, another shape (3 channels of 2 steps), another naming.
        (
            format!("c0_t0,c1_t0,c0_t1,c1_t1,c0_t2,c1_t2,target\n{ok}").into(),
            Want::Header {
                column: 2,
                found: "c1_t0",
                expected: "c0_t1",
            },
        ),
        (
            format!("c0_t0,c0_t1,c1_t0,c1_t1,c2_t0,c2_t1,target\n{ok}").into(),
            Want::Header {
                column: 3,
                found: "c1_t0",
                expected: "c0_t2",
            },
        ),
        (
            format!("f0,f1,f2,f3,f4,f5,target\n{ok}").into(),
            Want::Header {
                column: 1,
                found: "f0",
                expected: "c0_t0",
            },
        ),
        // No header, not UTF-8.
        (ok.into(), Want::MissingHeader),
        (
            [h.as_bytes(), b"1,2,3,4,5,\xc3\x28,0\n"].concat(),
            Want::Malformed { line: 2 },
        ),
    ];
    for (text, want) in cases {
        check(&text, want);
    }
}

#[test]
fn error_texts_name_what_was_expected() {
    let h = "c0_t0,c0_t1,c0_t2,c1_t0,c1_t1,c1_t2,target\n";
    let text = |s: &str| {
        read_sequences::<f32, 2, 3>(s.as_bytes())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        text(&format!("{h}1,2,3\n")),
        "line 2: expected 7 columns (6 inputs and a target), found 3"
    );
    assert_eq!(
        text(&format!("{h}1,2,3,abc,5,6,0\n")),
        r#"line 2, column 4 (c1_t0): cannot read "abc" as a finite number"#
    );
    assert_eq!(
        text("c0_t0,c1_t0,c0_t1,c1_t1,c0_t2,c1_t2,target\n"),
        "line 1, column 2: the header names \"c1_t0\" where \"c0_t1\" belongs (a sequence \
         file's columns are c{channel}_t{step}, all steps of channel 0 first, then target): \
         the file holds another shape or order"
    );
    assert!(text(&format!("{h}1,2,3,4,5,6,x\n")).starts_with(
        r#"line 2, column 7 (target): cannot read "x" as a class index (0, 1, 2, …)"#
    ));

    // From a file, the error names it; a file of another shape is caught
    // at its header.
    let err = load_sequences::<f32, 6, 150>(path("basicmotions_train.csv")).unwrap_err();
    assert!(
        matches!(
            err.kind,
            CsvErrorKind::ColumnCount {
                line: 1,
                inputs: 900,
                targets: 1,
                found: 601
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .ends_with("basicmotions_train.csv: line 1: expected 901 columns (900 inputs and a target), found 601"),
        "{err}"
    );
    let err = load_sequences::<f32, 3, 200>(path("basicmotions_train.csv")).unwrap_err();
    assert!(
        matches!(&err.kind, CsvErrorKind::Header { column: 101, found, expected }
            if found == "c1_t0" && expected == "c0_t100"),
        "{err:?}"
    );
    assert_eq!(
        err.path.as_deref(),
        Some(std::path::Path::new(&path("basicmotions_train.csv")))
    );
    let err = load_sequences::<f32, 1, 150>(path("no_such_file.csv")).unwrap_err();
    assert!(matches!(err.kind, CsvErrorKind::Io(_)), "{err:?}");
    assert!(err.path.is_some());
}

/// Per-channel mean and population standard deviation, computed directly.
fn direct_statistics<const C: usize, const L: usize>(
    rows: &SeqRows<f64, C, L, usize>,
) -> ([f64; C], [f64; C]) {
    let n = (rows.len() * L) as f64;
    let mut mean = [0.0; C];
    let mut std = [0.0; C];
    for c in 0..C {
        let values = || rows.iter().flat_map(move |(x, _)| x.channel(0, c));
        mean[c] = values().sum::<f64>() / n;
        std[c] = (values().map(|v| (v - mean[c]).powi(2)).sum::<f64>() / n).sqrt();
    }
    (mean, std)
}

#[test]
fn fit_sequences_gives_each_channels_statistics_over_all_steps() {
    let rows = load_sequences::<f64, 6, 100>(path("basicmotions_train.csv")).unwrap();
    let s = Standardize::fit_sequences(&rows).unwrap();
    let (mean, std) = direct_statistics(&rows);
    for c in 0..6 {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
        assert!(
            close(s.mean[c], mean[c]),
            "channel {c}: {} vs {}",
            s.mean[c],
            mean[c]
        );
        assert!(
            close(s.std[c], std[c]),
            "channel {c}: {} vs {}",
            s.std[c],
            std[c]
        );
    }
    // The channels differ (accelerometer and gyroscope), so per-channel
    // is not global scaling.
    assert!(s.std.iter().any(|&v| (v - s.std[0]).abs() > 0.1));

    // After the scaling, each channel has mean 0 and deviation 1 over the
    // training set, whether applied to the data or as the first layer.
    let mut scaled = rows.clone();
    s.apply_sequences(&mut scaled);
    let (m, d) = direct_statistics(&scaled);
    for c in 0..6 {
        assert!(
            m[c].abs() < 1e-12 && (d[c] - 1.0).abs() < 1e-12,
            "channel {c}"
        );
    }
    for (raw, done) in rows.iter().zip(&scaled) {
        assert_eq!(s.predict(&raw.0), done.0);
    }

    // GunPoint in f32: one channel, the statistics in f32.
    let rows32 = load_sequences::<f32, 1, 150>(path("gunpoint_train.csv")).unwrap();
    let rows64 = load_sequences::<f64, 1, 150>(path("gunpoint_train.csv")).unwrap();
    let s32 = Standardize::fit_sequences(&rows32).unwrap();
    let (mean, std) = direct_statistics(&rows64);
    assert!((f64::from(s32.mean[0]) - mean[0]).abs() < 1e-6);
    assert!((f64::from(s32.std[0]) - std[0]).abs() < 1e-6);

    // Sequences of one step are vectors: the same statistics, bit for bit.
    let mut r = rng(5);
    let seqs: Vec<(Seq<f64, 3, 1>, usize)> = (0..17)
        .map(|i| (Seq::from_fn(|_, _, _| uniform(&mut r, -3.0, 5.0)), i))
        .collect();
    let vecs: Vec<(SVector<f64, 3>, usize)> = seqs
        .iter()
        .map(|(x, i)| (SVector::from(x.data[0][0]), *i))
        .collect();
    assert_eq!(
        Standardize::fit_sequences(&seqs).unwrap(),
        Standardize::fit(&vecs).unwrap()
    );
    // Inputs alone are a data set too; a constant channel keeps σ = 1.
    let inputs = [
        Seq::<f32, 2, 2>::from_channels([[1.0, 2.0], [7.0, 7.0]]),
        Seq::from_channels([[3.0, 4.0], [7.0, 7.0]]),
    ];
    let s = Standardize::fit_sequences(&inputs[..]).unwrap();
    assert_eq!(s.mean.as_slice(), &[2.5, 7.0]);
    assert_eq!(s.std[1], 1.0);
}

#[test]
fn fit_sequences_reports_bad_data() {
    let empty: Vec<(Seq<f32, 2, 4>, usize)> = Vec::new();
    assert_eq!(Standardize::fit_sequences(&empty), Err(DataError::Empty));
    let no_steps = [(Seq::<f32, 2, 0>::zeros(), 0usize)];
    assert_eq!(Standardize::fit_sequences(&no_steps), Err(DataError::Empty));

    let mut rows = vec![(Seq::<f32, 3, 4>::zeros(), 0usize); 3];
    rows[2].0.data[0][1][2] = f32::INFINITY;
    rows[1].0.data[0][3][0] = f32::NAN;
    let err = Standardize::fit_sequences(&rows).unwrap_err();
    assert!(
        matches!(err, DataError::NonFiniteStep { sample: 1, step: 3, channel: 0, value } if value.is_nan()),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "sample 1, step 3, channel 0 (counted from 0) is NaN: remove or impute the sample \
         before computing statistics"
    );
    rows[1].0.data[0][3][0] = 0.0;
    assert!(matches!(
        Standardize::fit_sequences(&rows),
        Err(DataError::NonFiniteStep {
            sample: 2,
            step: 1,
            channel: 2,
            value: f64::INFINITY
        })
    ));

    // Values whose variance overflows even f64's accumulation: the
    // channel is named.
    let huge = [
        (
            Seq::<f64, 2, 2>::from_steps([[0.0, 1.7e308], [1.0, -1.7e308]]),
            0usize,
        ),
        (Seq::from_steps([[2.0, 1.7e308], [3.0, -1.7e308]]), 1),
    ];
    assert!(matches!(
        Standardize::fit_sequences(&huge),
        Err(DataError::Spread { feature: 1, .. })
    ));
}

/// A scaling with varied statistics, and a per-step network around it.
type Net = (Standardize<3, f64>, Dense<3, 2, f64>, Tanh, Rescale<2, f64>);

fn net(seed: u64) -> Net {
    let mut r = rng(seed);
    let mut net = Net::random(Init::XavierNormal, &mut r);
    net.0 = Standardize::from_arrays([1.5, -2.0, 0.25], [0.5, 2.0, 7.0]);
    net.3 = Rescale::from_arrays([3.0, -0.25], [10.0, -1.0]);
    net
}

fn random_seq<const C: usize, const L: usize, const B: usize>(seed: u64) -> Seq<f64, C, L, B> {
    let mut r = rng(seed);
    Seq::from_fn(|_, _, _| uniform(&mut r, -4.0, 4.0))
}

#[test]
fn on_a_sequence_each_step_is_scaled_as_a_vector() {
    let net = net(1);
    let x = random_seq::<3, 5, 2>(2);
    let y = net.forward(&x);
    for b in 0..2 {
        for t in 0..5 {
            let step = SVector::from(x.data[b][t]);
            assert_eq!(
                y.data[b][t],
                net.predict(&step).data.0[0],
                "sample {b}, step {t}"
            );
            assert_eq!(net.0.forward(&x).data[b][t], net.0.apply(&step).data.0[0]);
        }
    }
    // Streaming the same steps gives the same outputs.
    let mut state = net.start();
    for t in 0..5 {
        let step = SVector::from(x.data[1][t]);
        assert_eq!(net.step(&mut state, &step).data.0[0], y.data[1][t]);
    }
    // The inverse undoes the scaling on sequences too.
    let s = net.0;
    let back = s.inverse().forward(&s.forward(&x));
    for (a, b) in back.as_slice().iter().zip(x.as_slice()) {
        assert!((a - b).abs() < 1e-12);
    }
}

/// `L = Σ w ⊙ y` for fixed weights `w`: its gradient through the backward
/// pass against central differences, for the input and the parameters.
#[test]
fn sequence_backward_matches_finite_differences() {
    const EPS: f64 = common::EPS;
    for seed in 0..3 {
        let net = net(10 + seed);
        let x = random_seq::<3, 4, 2>(20 + seed);
        let w = random_seq::<2, 4, 2>(30 + seed);
        let loss = |net: &Net, x: &Seq<f64, 3, 4, 2>| -> f64 {
            let y = net.forward(x);
            y.as_slice()
                .iter()
                .zip(w.as_slice())
                .map(|(a, b)| a * b)
                .sum()
        };

        let (y, tape) = net.forward_train(&x);
        assert_eq!(y, net.forward(&x));
        let mut grad = Net::zeros();
        let dx: Seq<f64, 3, 4, 2> = net.backward(&tape, &w, &mut grad);

        let mut numeric = Vec::new();
        for k in 0..x.as_slice().len() {
            let (mut xp, mut xm) = (x, x);
            xp.as_mut_slice()[k] += EPS;
            xm.as_mut_slice()[k] -= EPS;
            numeric.push((loss(&net, &xp) - loss(&net, &xm)) / (2.0 * EPS));
        }
        assert_gradcheck(&format!("seed {seed}: ∂L/∂x"), dx.as_slice(), &numeric);

        let theta = flat(&net);
        let mut probe = net.clone();
        let mut numeric = Vec::new();
        for p in 0..theta.len() {
            let mut t = theta.clone();
            t[p] = theta[p] + EPS;
            set_flat(&mut probe, &t);
            let lp = loss(&probe, &x);
            t[p] = theta[p] - EPS;
            set_flat(&mut probe, &t);
            numeric.push((lp - loss(&probe, &x)) / (2.0 * EPS));
        }
        assert_gradcheck(&format!("seed {seed}: ∂L/∂θ"), &flat(&grad), &numeric);

        // A pure function of the tape: twice gives the same bits.
        let mut again = Net::zeros();
        let dx2: Seq<f64, 3, 4, 2> = net.backward(&tape, &w, &mut again);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(dx.as_slice()), bits(dx2.as_slice()));
        assert_eq!(bits(&flat(&grad)), bits(&flat(&again)));
    }

    // Alone, each layer's input gradient is its formula: dy / σ, dy ⊙ s.
    let net = net(4);
    let dy = random_seq::<3, 4, 2>(5);
    let dx: Seq<f64, 3, 4, 2> = net.0.backward(&(), &dy, &mut Standardize::zeros());
    let dr = Seq::<f64, 2, 4, 2>::from_fn(|b, t, c| dy.data[b][t][c]);
    let dxr: Seq<f64, 2, 4, 2> = net.3.backward(&(), &dr, &mut Rescale::zeros());
    for b in 0..2 {
        for t in 0..4 {
            for c in 0..3 {
                assert_eq!(dx.data[b][t][c], dy.data[b][t][c] / net.0.std[c]);
            }
            for c in 0..2 {
                assert_eq!(dxr.data[b][t][c], dr.data[b][t][c] * net.3.scale[c]);
            }
        }
    }
}

#[test]
fn a_loaded_set_feeds_a_network_that_starts_with_its_scaling() {
    let train = load_sequences::<f32, 6, 100>(path("basicmotions_train.csv")).unwrap();
    let mut net = <(Standardize<6>, Dense<6, 4>)>::zeros();
    net.0 = Standardize::fit_sequences(&train).unwrap();
    let y = net.predict(&train[0].0);
    assert_eq!(y.data[0].len(), 100);
    // With a zero dense layer, the output is its bias (zero) at every step.
    assert!(y.as_slice().iter().all(|&v| v == 0.0));
}
