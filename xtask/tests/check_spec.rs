//! `check-spec` passes on the real spec and fails precisely on each broken fixture.
//!
//! A fixture is a JSON Patch against the real spec plus the exact problems it must produce
//! (`{spec}` stands for the broken copy's path).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use xtask::check_spec::{run, Inputs};

#[derive(Deserialize)]
struct Fixture {
    description: String,
    patch: json_patch::Patch,
    expect: Vec<String>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn the_real_spec_passes() {
    let report = run(&Inputs::for_repo(&root()));
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(
        report.summary(),
        "check-spec: 48 examples, 19 schemas, 0 problems"
    );
}

#[test]
fn each_broken_fixture_fails_with_its_exact_problems() {
    let real = Inputs::for_repo(&root());
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&real.spec).unwrap()).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("broken-specs");
    std::fs::create_dir_all(&out).unwrap();
    let mut fixtures: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    fixtures.sort();
    assert!(
        fixtures.len() >= 9,
        "fixtures missing from {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for path in fixtures {
        let fixture: Fixture =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut broken = spec.clone();
        json_patch::patch(&mut broken, &fixture.patch).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let copy = out.join(format!("{name}.openapi.json"));
        std::fs::write(&copy, serde_json::to_string_pretty(&broken).unwrap()).unwrap();
        let report = run(&Inputs {
            spec: copy.clone(),
            documented: real.documented.clone(),
            seed: None,
        });
        let got: Vec<String> = report
            .problems
            .iter()
            .map(|p| {
                p.replace(&copy.display().to_string(), "{spec}")
                    .replace(&root().display().to_string(), "{root}")
            })
            .collect();
        if got != fixture.expect || got.is_empty() {
            failures.push(format!(
                "{name} ({}):\n  expected {:#?}\n  got {:#?}",
                fixture.description, fixture.expect, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_file_that_is_not_json_is_named() {
    let copy = Path::new(env!("CARGO_TARGET_TMPDIR")).join("not-json.openapi.json");
    std::fs::write(&copy, "{ \"openapi\": ").unwrap();
    let report = run(&Inputs {
        spec: copy.clone(),
        documented: Inputs::for_repo(&root()).documented,
        seed: None,
    });
    assert_eq!(
        report.problems,
        [format!(
            "{}: not JSON: EOF while parsing a value at line 1 column 13",
            copy.display()
        )]
    );
}
