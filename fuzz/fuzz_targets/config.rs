//! tenant.toml and `--checks` files: the first byte picks which file the rest is, then the
//! whole preparation a scan does before its first packet (parse, resolve, validate, plan).
#![no_main]
use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use tenant_ready::catalog::{self, Catalog};
use tenant_ready::settings::{self, Env, LoadedFile, Settings};

fn plan(catalog: &Catalog, file: Option<&LoadedFile>) {
    let args = tenant_ready::cli::ScanArgs {
        domains: if file.is_some() { vec![] } else { vec!["contoso.com".into()] },
        ..Default::default()
    };
    if let Ok(s) = Settings::resolve(&args, file, &Env::default()) {
        let _ = tenant_ready::plan::plan(catalog, &s);
    }
}

fn embedded_checks() -> Vec<(PathBuf, String)> {
    catalog::EMBEDDED_CHECKS
        .iter()
        .map(|(n, t)| (PathBuf::from(n), (*t).to_owned()))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest).into_owned();
    let resp = (Path::new("responsibilities.toml"), catalog::EMBEDDED_RESPONSIBILITIES);
    let clouds = (Path::new("clouds.toml"), catalog::EMBEDDED_CLOUDS);
    match which % 4 {
        0 => {
            let path = Path::new("tenant.toml");
            if let Ok(file) = settings::parse_file(rest, path)
                && let Ok(c) = Catalog::embedded()
            {
                let lf = LoadedFile { path: path.to_owned(), file, dkim: None };
                plan(&c, Some(&lf));
            }
        }
        1 => {
            let files = vec![(PathBuf::from("mine.toml"), text)];
            if let Ok(c) = Catalog::from_parts(&files, resp, clouds, "fuzz".into()) {
                plan(&c, None);
            }
        }
        2 => {
            let clouds = (Path::new("clouds.toml"), text.as_str());
            if let Ok(c) = Catalog::from_parts(&embedded_checks(), resp, clouds, "fuzz".into()) {
                plan(&c, None);
            }
        }
        _ => {
            let resp = (Path::new("responsibilities.toml"), text.as_str());
            if let Ok(c) = Catalog::from_parts(&embedded_checks(), resp, clouds, "fuzz".into()) {
                plan(&c, None);
            }
        }
    }
});
