//! The CSV loader: the bundled data sets load, and bad files give errors
//! that name the line and the column.

use staticnet::data::{CsvError, load_csv, read_csv};

#[test]
fn the_bundled_data_sets_load_with_their_documented_shapes() {
    let digits =
        load_csv::<f32, 64>(concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits.csv")).unwrap();
    assert_eq!(digits.len(), 1797);
    assert!(
        digits
            .iter()
            .all(|(x, c)| *c < 10 && x.iter().all(|&v| (0.0..=16.0).contains(&v)))
    );
    let mut counts = [0; 10];
    digits.iter().for_each(|(_, c)| counts[*c] += 1);
    assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    assert_eq!(
        digits
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 5 == 4)
            .count(),
        359
    );

    let iris = load_csv::<f64, 4>(concat!(env!("CARGO_MANIFEST_DIR"), "/data/iris.csv")).unwrap();
    assert_eq!(iris.len(), 150);
    assert_eq!(iris[0].0.as_slice(), &[5.1, 3.5, 1.4, 0.2]);
    assert_eq!(iris[149].1, 2);
}

#[test]
fn a_wrong_column_count_names_the_line() {
    let err = read_csv::<f32, 2>("f0,f1,target\n1,2,0\n1,2\n".as_bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            CsvError::ColumnCount {
                line: 3,
                expected: 3,
                found: 2
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "line 3: expected 3 columns (2 inputs and a target), found 2"
    );
    // A header for another shape is caught at line 1.
    let err = read_csv::<f32, 3>("f0,f1,target\n1,2,0\n".as_bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            CsvError::ColumnCount {
                line: 1,
                expected: 4,
                found: 3
            }
        ),
        "{err:?}"
    );
}

#[test]
fn an_unreadable_value_names_the_line_and_column() {
    let err = read_csv::<f32, 2>("f0,f1,target\n1,2,0\n1,2,0\n0.5,abc,1\n".as_bytes()).unwrap_err();
    assert!(
        matches!(&err, CsvError::Value { line: 4, column: 2, name, text } if name == "f1" && text == "abc")
    );
    assert_eq!(
        err.to_string(),
        r#"line 4, column 2 (f1): cannot read "abc" as a finite number"#
    );
    // NaN and infinities are not data.
    let err = read_csv::<f32, 2>("f0,f1,target\nNaN,2,0\n".as_bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            CsvError::Value {
                line: 2,
                column: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let err = read_csv::<f32, 2>("f0,f1,target\n1,inf,0\n".as_bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            CsvError::Value {
                line: 2,
                column: 2,
                ..
            }
        ),
        "{err:?}"
    );
    // A target must be a class index.
    let err = read_csv::<f32, 2>("f0,f1,target\n1,2,0.5\n".as_bytes()).unwrap_err();
    assert!(err.to_string().contains("column 3 (target)"), "{err}");
    // A missing file is an I/O error.
    assert!(matches!(
        load_csv::<f32, 2>("/nonexistent/x.csv"),
        Err(CsvError::Io(_))
    ));
}

/// A `Vec` of rows is a data set as it is (`&rows`, not `&rows[..]`), and
/// nalgebra and rand come with the crate at the versions it uses.
#[test]
fn a_vec_of_rows_is_a_dataset_and_the_dependencies_are_re_exported() {
    use staticnet::metrics::accuracy;
    use staticnet::nalgebra::SVector;
    use staticnet::optim::Sgd;
    use staticnet::prelude::*;
    use staticnet::rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
    use staticnet::train::{Control, Trainer};

    let rows: Vec<(SVector<f32, 2>, usize)> = (0..40)
        .map(|k| {
            let x = SVector::from([k as f32 / 40.0 - 0.5, 0.25]);
            (x, usize::from(x[0] > 0.0))
        })
        .collect();
    assert_eq!(Dataset::len(&rows), 40);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let mut net = <(Dense<2, 2>,)>::random(Init::Xavier, &mut rng);
    Trainer::new(Sgd::new(0.5))
        .epochs(200)
        .batch_size::<8>()
        .fit(&mut net, &CrossEntropy, &rows, &mut rng, |_, _| {
            Control::Continue
        })
        .unwrap();
    assert!(accuracy(&net, &rows) >= 0.9, "{}", accuracy(&net, &rows));
}
