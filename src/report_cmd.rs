//! `tenant-ready report render | merge | diff`: the engineer's tools over saved JSON.

use std::io::Write;
use std::path::Path;

use crate::catalog::Catalog;
use crate::cli::{ColorChoice, DiffFormat, FailOn, ReportCommand};
use crate::report::{self, Exit, human::HumanOptions, saved};
use crate::settings::Env;

fn out(bytes: &[u8], path: Option<&Path>) -> Result<(), String> {
    match path {
        Some(p) => {
            report::write_atomic(p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))
        }
        None => {
            let mut o = std::io::stdout().lock();
            match o.write_all(bytes).and_then(|()| o.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.to_string()),
                _ => Ok(()),
            }
        }
    }
}

/// Runs a `report` subcommand.
pub fn run(cmd: ReportCommand, env: &Env) -> Exit {
    let r = match cmd {
        ReportCommand::Render {
            file,
            format,
            output,
            lang,
            color,
            checklist,
        } => match render_large(
            &file,
            format,
            output.as_deref(),
            lang.unwrap_or_else(|| env.lang()),
        ) {
            Ok(Some(code)) => Ok(code),
            Err(e) => Err(e),
            Ok(None) => load(&file)
                .map_err(|e| (Exit::Usage, e.to_string()))
                .and_then(|rep| {
                    let lang = lang.unwrap_or_else(|| env.lang());
                    let color = match color.unwrap_or_default() {
                        ColorChoice::Always => true,
                        ColorChoice::Never => false,
                        ColorChoice::Auto => env.stdout_tty && !env.no_color && output.is_none(),
                    };
                    let bytes = report::render_format(
                        &rep,
                        format,
                        HumanOptions {
                            color,
                            width: if output.is_none() { env.columns } else { None },
                            lang,
                            quiet: false,
                            checklist,
                        },
                    )
                    .map_err(|e| (Exit::Usage, e.to_string()))?;
                    out(&bytes, output.as_deref()).map_err(|e| (Exit::Usage, e))?;
                    Ok(Exit::Ready)
                }),
        },
        ReportCommand::Merge { files, output } => (|| {
            let mut runs = Vec::new();
            for f in &files {
                let rep = load(f).map_err(|e| (Exit::Usage, e.to_string()))?;
                let mut site = saved::site_name(&rep, f);
                // Two runs from one host (before and after a change) stay apart.
                if runs.iter().any(|(s, _)| *s == site) {
                    site = format!("{site} ({})", f.display());
                }
                runs.push((site, rep));
            }
            let catalog = Catalog::embedded().map_err(|e| (Exit::Usage, e.to_string()))?;
            // Shards of one scan join into that scan; whole scans from several sites are tagged
            // with their site.
            let merged = if runs.iter().any(|(_, r)| r.run.shard.is_some()) {
                let named = files
                    .iter()
                    .zip(runs)
                    .map(|(f, (_, r))| (f.display().to_string(), r))
                    .collect();
                saved::merge_shards(named, &catalog, FailOn::Fail)
                    .map_err(|e| (Exit::Usage, crate::escape::terminal(&e).into_owned()))?
            } else {
                saved::merge(runs, &catalog, FailOn::Fail)
            };
            let mut bytes = Vec::new();
            report::json::render(&merged, &mut bytes).map_err(|e| (Exit::Usage, e.to_string()))?;
            out(&bytes, output.as_deref()).map_err(|e| (Exit::Usage, e))?;
            Ok(Exit::Ready)
        })(),
        ReportCommand::Diff {
            old,
            new,
            format,
            output,
            lang,
        } => (|| {
            let (a, b) = (
                load(&old).map_err(|e| (Exit::Usage, e.to_string()))?,
                load(&new).map_err(|e| (Exit::Usage, e.to_string()))?,
            );
            let d = saved::diff(&a, &b);
            let bytes = match format {
                DiffFormat::Human => saved::render_diff(&d).into_bytes(),
                DiffFormat::Json => {
                    let mut t = serde_json::to_string_pretty(&d)
                        .map_err(|e| (Exit::Usage, e.to_string()))?;
                    t.push('\n');
                    t.into_bytes()
                }
                DiffFormat::Html => {
                    let lang = lang.unwrap_or_else(|| env.lang());
                    let mut page = Vec::new();
                    report::html::render_diff(&b, &d, lang, &mut page)
                        .map_err(|e| (Exit::Usage, e.to_string()))?;
                    page
                }
            };
            out(&bytes, output.as_deref()).map_err(|e| (Exit::Usage, e))?;
            Ok(if d.regressed.is_empty() {
                Exit::Ready
            } else {
                Exit::NotReady
            })
        })(),
    };
    match r {
        Ok(code) => code,
        Err((code, msg)) => {
            eprintln!("error: {}", crate::escape::terminal_lines(&msg));
            code
        }
    }
}

/// `report render` of a large NDJSON report as HTML or Markdown, straight from the file: read
/// line by line into its digest (12 bytes a result), never loaded whole (1.1 million results
/// took 6.3 GB that way). `None`: not such a report, the usual path renders it.
fn render_large(
    file: &Path,
    format: crate::output::Format,
    output: Option<&Path>,
    lang: crate::output::Lang,
) -> Result<Option<Exit>, (Exit, String)> {
    use crate::output::Format;
    use report::digest::{Digest, LARGE};
    if !matches!(format, Format::Html | Format::Markdown) {
        return Ok(None);
    }
    let usage = |e: &dyn std::fmt::Display| (Exit::Usage, e.to_string());
    let open = || {
        std::fs::File::open(file)
            .map(|f| std::io::BufReader::with_capacity(1 << 20, f))
            .map_err(|source| {
                usage(&crate::error::ConfigError::Read {
                    path: file.to_owned(),
                    source,
                })
            })
    };
    let mut first = Vec::new();
    std::io::BufRead::read_until(&mut open()?, b'\n', &mut first).map_err(|e| usage(&e))?;
    if !report::ndjson::looks_like(&String::from_utf8_lossy(&first)) {
        return Ok(None);
    }
    let catalog = Catalog::embedded().map_err(|e| usage(&e))?;
    let (digest, note) = Digest::read_ndjson(open()?, file, &catalog).map_err(|e| usage(&e))?;
    if digest.results() <= LARGE {
        return Ok(None);
    }
    if let Some(why) = note {
        eprintln!(
            "warning: {}: {}",
            crate::escape::terminal(&file.display().to_string()),
            why
        );
    }
    let render = |w: &mut dyn Write| {
        if format == Format::Html {
            report::large::html(&digest, lang, w)
        } else {
            report::large::markdown(&digest, lang, w)
        }
    };
    match output {
        Some(p) => report::write_atomic_with(p, render)
            .map_err(|e| (Exit::Usage, format!("cannot write {}: {e}", p.display())))?,
        None => {
            let mut o = std::io::BufWriter::new(std::io::stdout().lock());
            match render(&mut o).and_then(|()| o.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(usage(&e));
                }
                _ => {}
            }
        }
    }
    Ok(Some(Exit::Ready))
}

/// A saved report (JSON or NDJSON); an incomplete NDJSON one (a scan stopped mid-run) is read
/// for what it holds, saying so on stderr.
fn load(path: &Path) -> Result<report::Report, crate::error::ConfigError> {
    let (report, note) = saved::load_noting(path)?;
    if let Some(why) = note {
        eprintln!(
            "warning: {}: {}",
            crate::escape::terminal(&path.display().to_string()),
            why
        );
    }
    Ok(report)
}
