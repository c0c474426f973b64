//! The CSV loader: the bundled data sets load, and bad files give errors
//! that name the line and the column.

use staticnet::data::{
    CsvErrorKind, Expected, load_csv, load_csv_targets, read_csv, read_csv_targets,
};

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
            err.kind,
            CsvErrorKind::ColumnCount {
                line: 3,
                inputs: 2,
                targets: 1,
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
            err.kind,
            CsvErrorKind::ColumnCount {
                line: 1,
                inputs: 3,
                found: 3,
                ..
            }
        ),
        "{err:?}"
    );
    // Several targets are counted as such.
    let err = read_csv_targets::<f32, 2, 2>("a,b,c\n1,2,3\n".as_bytes()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 1: expected 4 columns (2 inputs and 2 targets), found 3"
    );
}

#[test]
fn an_unreadable_value_names_the_line_and_column() {
    let err = read_csv::<f32, 2>("f0,f1,target\n1,2,0\n1,2,0\n0.5,abc,1\n".as_bytes()).unwrap_err();
    assert!(matches!(
        &err.kind,
        CsvErrorKind::Value { line: 4, column: 2, name, text, expected: Expected::Number }
            if name == "f1" && text == "abc"
    ));
    assert_eq!(
        err.to_string(),
        r#"line 4, column 2 (f1): cannot read "abc" as a finite number"#
    );
    // NaN and infinities are not data.
    for (text, column) in [
        ("f0,f1,target\nNaN,2,0\n", 1),
        ("f0,f1,target\n1,inf,0\n", 2),
    ] {
        let err = read_csv::<f32, 2>(text.as_bytes()).unwrap_err();
        assert!(
            matches!(err.kind, CsvErrorKind::Value { line: 2, column: c, expected: Expected::Number, .. } if c == column),
            "{err:?}"
        );
    }
    // A target must be a class index, and the message says how to load a numeric one.
    let err = read_csv::<f32, 2>("f0,f1,target\n1,2,0.5\n".as_bytes()).unwrap_err();
    assert!(matches!(
        err.kind,
        CsvErrorKind::Value {
            column: 3,
            expected: Expected::Class,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        r#"line 2, column 3 (target): cannot read "0.5" as a class index (0, 1, 2, …); for a numeric target, load the file with `load_csv_targets`"#
    );
    let err = read_csv::<f32, 2>("f0,f1,target\n1,2,-1\n".as_bytes()).unwrap_err();
    assert!(matches!(
        err.kind,
        CsvErrorKind::Value {
            expected: Expected::Class,
            ..
        }
    ));
    // A missing file is an I/O error that names the file.
    let err = load_csv::<f32, 2>("/nonexistent/x.csv").unwrap_err();
    assert!(matches!(err.kind, CsvErrorKind::Io(_)));
    assert_eq!(
        err.path.as_deref(),
        Some(std::path::Path::new("/nonexistent/x.csv"))
    );
    assert!(
        err.to_string()
            .starts_with("/nonexistent/x.csv: cannot read the CSV file: "),
        "{err}"
    );
}

#[test]
fn a_value_beyond_f32_is_an_error_and_loads_as_f64() {
    let text = "f0,target\n1e39,0\n";
    let err = read_csv::<f32, 1>(text.as_bytes()).unwrap_err();
    assert!(matches!(
        err.kind,
        CsvErrorKind::Value {
            line: 2,
            column: 1,
            expected: Expected::InRange("f32"),
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "line 2, column 1 (f0): 1e39 is beyond the range of f32; rescale the column or load it as f64"
    );
    assert_eq!(read_csv::<f64, 1>(text.as_bytes()).unwrap()[0].0[0], 1e39);
}

#[test]
fn a_file_without_a_header_is_an_error_not_a_lost_row() {
    let err = read_csv::<f32, 2>("1,2,0\n3,4,1\n".as_bytes()).unwrap_err();
    assert!(matches!(err.kind, CsvErrorKind::MissingHeader), "{err:?}");
    assert!(
        err.to_string()
            .contains("add one, or its first row is lost"),
        "{err}"
    );
}

#[test]
fn bad_bytes_and_long_fields_give_short_readable_messages() {
    // Not UTF-8: a sentence with the line and column, not a debug dump.
    let err = read_csv::<f32, 2>(&b"f0,f1,target\n1,\xff\xfe,0\n"[..]).unwrap_err();
    assert!(
        matches!(err.kind, CsvErrorKind::Malformed { line: 2, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "line 2: column 2 is not valid UTF-8 (after its first 0 bytes): save the file as UTF-8"
    );
    // A 1 MB field is not repeated in full.
    let long = "9".repeat(1 << 20) + "x";
    let err = read_csv::<f32, 1>(format!("f0,target\n{long},0\n").as_bytes()).unwrap_err();
    let message = err.to_string();
    assert!(message.len() < 200, "{} bytes", message.len());
    assert!(message.contains("… (1048577 bytes)"), "{message}");
}

#[test]
fn numeric_targets_load_for_regression() {
    let rows = read_csv_targets::<f32, 2, 2>("a,b,y0,y1\n1,2,0.5,-3\n".as_bytes()).unwrap();
    assert_eq!(rows[0].0.as_slice(), &[1.0, 2.0]);
    assert_eq!(rows[0].1.as_slice(), &[0.5, -3.0]);
    let err = read_csv_targets::<f32, 1, 1>("a,y\n1,nan\n".as_bytes()).unwrap_err();
    assert!(matches!(
        err.kind,
        CsvErrorKind::Value {
            column: 2,
            expected: Expected::Number,
            ..
        }
    ));
    // The sunspot series: a quoted header, a year and a number per row.
    let years =
        load_csv_targets::<f32, 1, 1>(concat!(env!("CARGO_MANIFEST_DIR"), "/data/sunspots.csv"))
            .unwrap();
    assert_eq!(years.len(), 309);
    assert_eq!((years[0].0[0], years[308].0[0]), (1700.0, 2008.0));
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
    assert_eq!(staticnet::data::Data::len(&rows), 40);
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
