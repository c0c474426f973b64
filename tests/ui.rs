//! Shape mistakes must not compile, and the compiler's message must name the
//! sizes that disagree. Each case in tests/ui/ is locked with its exact
//! `.stderr` (recorded with the toolchain in rust-toolchain.toml; refresh with
//! `TRYBUILD=overwrite cargo test --test ui` after a toolchain change, and
//! read the diff).

#[test]
fn shape_mistakes_fail_with_messages_naming_the_sizes() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
