//! The README's quick start is the crate docs' first example, word for word
//! (the crate docs' copy runs as a doctest; the README's runs too, through
//! `ReadmeDoctests` in src/lib.rs).

fn block_after(text: &str, heading: &str, fence: &str) -> String {
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?}"));
    let rest = &text[start..];
    let open = rest.find(fence).expect("opening fence") + fence.len();
    let body = &rest[open..];
    let close = body.find("```").expect("closing fence");
    body[..close].trim().to_string()
}

#[test]
fn readme_quick_start_equals_the_crate_docs() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let lib = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).unwrap();
    let docs: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let a = block_after(&readme, "## Quick start", "```rust");
    let b = block_after(&docs, "# Quick start", "```");
    assert!(a.len() > 200, "the quick start is there");
    assert_eq!(a, b);
}
