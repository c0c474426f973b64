//! The examples' pictures (`examples/common/plot.rs`): the files are written,
//! are well-formed SVG with the texts they should show, and a path that
//! cannot be written gives an error naming it, not a panic.

#[path = "../examples/common/plot.rs"]
#[allow(dead_code)]
mod plot;

use std::path::PathBuf;

use nalgebra::SMatrix;
use plot::EpochRow;

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("staticnet-plot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Checks that `svg` is one well-formed `<svg>` element (tags balanced and
/// properly nested, attributes quoted) and returns the contents of its
/// `<text>` elements, entities decoded.
fn texts_of_well_formed_svg(svg: &str) -> Vec<String> {
    let mut rest = svg.trim_start();
    if rest.starts_with("<?xml") {
        rest = &rest[rest.find("?>").expect("unterminated XML declaration") + 2..];
        rest = rest.trim_start();
    }
    assert!(
        rest.starts_with("<svg"),
        "does not start with <svg: {:.60}",
        rest
    );
    let mut open: Vec<&str> = Vec::new();
    let mut texts = Vec::new();
    let mut seen_root = false;
    while let Some(lt) = rest.find('<') {
        let content = &rest[..lt];
        if open.is_empty() {
            assert!(
                content.trim().is_empty(),
                "text outside the root: {content:?}"
            );
        } else if open.last() == Some(&"text") {
            texts.push(decode(content.trim()));
        }
        assert!(!content.contains('>'), "stray '>' in {content:?}");
        let gt = lt + rest[lt..].find('>').expect("unterminated tag");
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(name.trim()), "unbalanced </{name}>");
            continue;
        }
        assert!(
            !(open.is_empty() && seen_root),
            "a second root element <{tag}>"
        );
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unquoted attribute in <{tag}>"
        );
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "bad tag name in <{tag}>"
        );
        if open.is_empty() {
            assert_eq!(name, "svg", "the root element is <{name}>");
            seen_root = true;
        }
        if !tag.ends_with('/') {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "unclosed elements: {open:?}");
    assert!(
        seen_root && rest.trim().is_empty(),
        "trailing text {rest:?}"
    );
    texts
}

fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn rows() -> Vec<EpochRow> {
    (1..=12)
        .map(|epoch| EpochRow {
            epoch,
            loss: 2.0 / epoch as f64,
            train: Some(100.0 - 30.0 / epoch as f64),
            held_out: Some(98.0 - 30.0 / epoch as f64),
        })
        .collect()
}

#[test]
fn training_curves_are_written_as_well_formed_svg_with_their_labels() {
    let dir = scratch("curves");
    let path = dir.join("curves.svg");
    plot::training_curves(&path, "Digits & SGD", "accuracy (%)", &rows()).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    let texts = texts_of_well_formed_svg(&svg);
    for label in [
        "Digits & SGD",
        "accuracy (%)",
        "training loss",
        "epoch",
        "training set",
        "held-out set",
    ] {
        assert!(
            texts.iter().any(|t| t == label),
            "no text {label:?} in {texts:?}"
        );
    }
    assert!(svg.matches("<polyline").count() >= 3, "three curves");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn training_curves_take_a_regression_score_and_odd_rows() {
    let dir = scratch("odd");
    // Loss only: one panel, no score label.
    let loss_only: Vec<EpochRow> = rows()
        .into_iter()
        .map(|r| EpochRow {
            train: None,
            held_out: None,
            ..r
        })
        .collect();
    plot::training_curves(dir.join("a.svg"), "loss only", "R²", &loss_only).unwrap();
    let texts = texts_of_well_formed_svg(&std::fs::read_to_string(dir.join("a.svg")).unwrap());
    assert!(texts.iter().any(|t| t == "training loss"));
    assert!(
        !texts.iter().any(|t| t == "R²"),
        "no score panel without scores"
    );
    // A held-out score alone, under the caller's axis name.
    let r2: Vec<EpochRow> = rows()
        .into_iter()
        .map(|r| EpochRow {
            train: None,
            held_out: Some(1.0 - r.loss / 4.0),
            ..r
        })
        .collect();
    plot::training_curves(dir.join("b.svg"), "regression", "validation R²", &r2).unwrap();
    let texts = texts_of_well_formed_svg(&std::fs::read_to_string(dir.join("b.svg")).unwrap());
    assert!(texts.iter().any(|t| t == "validation R²"));
    assert!(!texts.iter().any(|t| t == "training set"));
    // One epoch, a constant, a diverged loss, values at f64's limits and no
    // rows at all draw without a panic.
    let odd = [
        vec![EpochRow {
            epoch: 1,
            loss: 0.5,
            train: Some(0.5),
            held_out: None,
        }],
        vec![
            EpochRow {
                epoch: 1,
                loss: 1.0,
                train: Some(1.0),
                held_out: Some(1.0),
            },
            EpochRow {
                epoch: 2,
                loss: 1.0,
                train: Some(1.0),
                held_out: Some(1.0),
            },
        ],
        vec![
            EpochRow {
                epoch: 1,
                loss: 1.0,
                train: Some(f64::NAN),
                held_out: None,
            },
            EpochRow {
                epoch: 2,
                loss: f64::INFINITY,
                train: None,
                held_out: None,
            },
            EpochRow {
                epoch: 3,
                loss: f64::NAN,
                train: None,
                held_out: Some(0.0),
            },
        ],
        vec![
            EpochRow {
                epoch: 1,
                loss: f64::MAX,
                train: Some(f64::MAX),
                held_out: Some(-f64::MAX),
            },
            EpochRow {
                epoch: 2,
                loss: f64::MIN_POSITIVE,
                train: Some(5e-324),
                held_out: None,
            },
            EpochRow {
                epoch: 3,
                loss: 1e300,
                train: Some(-1e300),
                held_out: Some(1e300),
            },
        ],
        vec![EpochRow {
            epoch: usize::MAX,
            loss: -1e300,
            train: None,
            held_out: Some(1e-300),
        }],
        vec![],
    ];
    for (i, rows) in odd.iter().enumerate() {
        let path = dir.join(format!("odd{i}.svg"));
        plot::training_curves(&path, "odd", "score", rows).unwrap();
        texts_of_well_formed_svg(&std::fs::read_to_string(&path).unwrap());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn confusion_matrix_writes_one_count_per_cell() {
    let dir = scratch("confusion");
    let path = dir.join("confusion.svg");
    let counts = SMatrix::<usize, 3, 3>::from_row_slice(&[
        11, 0, 2, //
        3, 15, 0, //
        1, 4, 17,
    ]);
    plot::confusion_matrix(&path, "Three <kinds>", &counts, &["ant", "bee", "cicada"]).unwrap();
    let texts = texts_of_well_formed_svg(&std::fs::read_to_string(&path).unwrap());
    assert!(
        texts.iter().any(|t| t == "Three <kinds>"),
        "the title, escaped: {texts:?}"
    );
    for name in ["ant", "bee", "cicada"] {
        assert_eq!(
            texts.iter().filter(|t| *t == name).count(),
            2,
            "{name} on both axes"
        );
    }
    // The cells: every text that is a number, in row order.
    let numbers: Vec<usize> = texts.iter().filter_map(|t| t.parse().ok()).collect();
    assert_eq!(
        numbers,
        counts.transpose().iter().copied().collect::<Vec<_>>()
    );
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("53 samples, accuracy 81.13%")),
        "{texts:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn confusion_matrix_of_no_samples_and_of_many_classes() {
    let dir = scratch("confusion-odd");
    let empty = SMatrix::<usize, 2, 2>::zeros();
    plot::confusion_matrix(dir.join("empty.svg"), "empty", &empty, &["no", "yes"]).unwrap();
    let texts = texts_of_well_formed_svg(&std::fs::read_to_string(dir.join("empty.svg")).unwrap());
    assert_eq!(texts.iter().filter(|t| *t == "0").count(), 4);
    let many =
        SMatrix::<usize, 40, 40>::from_fn(|t, p| usize::from(t == p) * 7 + usize::from(t + 1 == p));
    let names: [String; 40] = std::array::from_fn(|k| format!("class {k}"));
    plot::confusion_matrix(dir.join("many.svg"), "forty", &many, &names).unwrap();
    let texts = texts_of_well_formed_svg(&std::fs::read_to_string(dir.join("many.svg")).unwrap());
    assert_eq!(
        texts.iter().filter(|t| t.parse::<usize>().is_ok()).count(),
        1600
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_path_that_cannot_be_written_is_an_error_naming_it() {
    let dir = scratch("bad");
    let missing = dir.join("no such directory").join("curves.svg");
    let err = plot::training_curves(&missing, "t", "s", &rows()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(
        err.to_string().contains(&*missing.to_string_lossy()),
        "{err}"
    );
    // A directory where the file should be.
    let counts = SMatrix::<usize, 2, 2>::new(1, 2, 3, 4);
    let err = plot::confusion_matrix(&dir, "t", &counts, &["a", "b"]).unwrap_err();
    assert!(
        err.to_string().starts_with(&*dir.to_string_lossy()),
        "{err}"
    );
    assert!(dir.is_dir());
    std::fs::remove_dir_all(dir).unwrap();
}
