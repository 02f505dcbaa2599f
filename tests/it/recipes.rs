//! The CI recipes in `examples/ci/`: the workflow files parse, and every `tenant-ready` command
//! they run is accepted by the real command-line parser (a renamed flag breaks this test, not a
//! customer's pipeline).

use clap::Parser;
use tenant_ready::cli::Cli;

const RECIPES: &[(&str, &str)] = &[
    (
        "github-actions.yml",
        include_str!("../../examples/ci/github-actions.yml"),
    ),
    (
        "azure-pipelines.yml",
        include_str!("../../examples/ci/azure-pipelines.yml"),
    ),
    (
        "gitlab-ci.yml",
        include_str!("../../examples/ci/gitlab-ci.yml"),
    ),
];

/// Every string value in a YAML document.
fn strings(v: &serde_yaml::Value, out: &mut Vec<String>) {
    match v {
        serde_yaml::Value::String(s) => out.push(s.clone()),
        serde_yaml::Value::Sequence(seq) => seq.iter().for_each(|x| strings(x, out)),
        serde_yaml::Value::Mapping(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[test]
fn ci_recipes_parse_and_use_the_real_cli() {
    for (name, text) in RECIPES {
        let doc: serde_yaml::Value =
            serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut all = Vec::new();
        strings(&doc, &mut all);
        let commands: Vec<Vec<String>> = all
            .iter()
            .flat_map(|s| s.lines())
            .filter_map(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                let at = words.iter().position(|w| *w == "tenant-ready")?;
                // Stop at shell operators (`|| true`).
                let args: Vec<String> = words[at..]
                    .iter()
                    .take_while(|w| !matches!(**w, "||" | "&&" | "|" | ";"))
                    .map(|w| (*w).to_owned())
                    .collect();
                (args.len() > 1 && !matches!(args[1].as_str(), "tenant-ready")).then_some(args)
            })
            .filter(|a| !a.iter().any(|w| w.starts_with("--git")))
            .collect();
        assert!(
            commands.iter().any(|c| c[1] == "scan") && commands.iter().any(|c| c[1] == "report"),
            "{name}: scans and gates: {commands:?}"
        );
        for c in &commands {
            Cli::try_parse_from(c).unwrap_or_else(|e| panic!("{name}: `{}`: {e}", c.join(" ")));
        }
        assert!(
            text.contains("junit=out/junit.xml"),
            "{name} publishes JUnit"
        );
    }
    let docker = include_str!("../../examples/ci/Dockerfile");
    assert!(
        docker.contains("FROM scratch")
            && docker.contains("cargo build --release --locked --bin tenant-ready")
    );
}
