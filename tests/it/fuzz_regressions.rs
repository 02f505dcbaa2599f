//! Every input a fuzzer ever crashed on (`fuzz/regressions/<target>/`) and every seed under
//! `fuzz/seeds/`, through the same code as its fuzz target ([`tenant_ready::fuzzing`]). A crash
//! found by `cargo +nightly fuzz run` is fixed, and its input is kept here so it stays fixed.

use std::path::Path;

#[test]
fn every_kept_fuzz_input_runs_without_a_panic() {
    let mut ran = 0;
    for dir in ["fuzz/regressions", "fuzz/seeds"] {
        for (target, body) in tenant_ready::fuzzing::TARGETS {
            let d = Path::new(dir).join(target);
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries {
                let path = e.unwrap().path();
                if path.file_name().is_some_and(|n| n == ".gitkeep") {
                    continue;
                }
                let data = std::fs::read(&path).unwrap();
                // A panic fails the test and names the input.
                let outcome = std::panic::catch_unwind(|| body(&data));
                assert!(outcome.is_ok(), "{target}: {} panics", path.display());
                ran += 1;
            }
        }
    }
    assert!(ran > 0, "no fuzz inputs found (run from the crate root)");
}
