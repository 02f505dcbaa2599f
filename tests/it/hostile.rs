//! Hostile input (issue 11): servers, files and saved reports written by an attacker. Every
//! byte they control is shown, never acted on, and nothing they send panics the scanner.

use std::path::Path;
use std::process::Command;

use tenant_ready::lab::Behaviour;

use crate::support::{server, zones};

const D: &str = "contoso.test";

fn bin() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("tenant-ready"))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let o = bin().args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every record of the domain carries terminal escape sequences: clear screen, cursor home, a
/// window title, OSC 8 hyperlinks, bell, DEL, C1 CSI, and Markdown links and HTML. Names whose
/// labels carry control bytes cannot be written in a zone file: they are added as records.
fn hostile_zones() -> tenant_ready::lab::Zones {
    use hickory_proto::rr::rdata::{CNAME, MX, SRV, TXT};
    use hickory_proto::rr::{Name, RData, Record};
    let text = format!(
        "$TTL 3600\n@ IN SOA ns1.{D}. hostmaster.{D}. 1 3600 600 86400 300\n@ IN NS ns1.{D}.\nns1 IN A 127.0.0.1\n"
    );
    let mut z = zones(&[(D, &text)]);
    let name = |labels: &[&[u8]]| Name::from_labels(labels.iter().copied()).unwrap();
    let at = |sub: &str| Name::from_ascii(format!("{sub}{D}.")).unwrap();
    let txt_record = |sub: &str, v: &str| {
        Record::from_rdata(at(sub), 3600, RData::TXT(TXT::new(vec![v.to_owned()])))
    };
    z.insert(txt_record(
        "",
        "MS=\u{1b}[2Jms1 [READY](https://evil/) <img src=x>",
    ));
    z.insert(txt_record(
        "",
        "v=spf1 \u{1b}[2J\u{1b}[1;1H\u{1b}]0;x\u{7} READY \u{1b}]8;;https://evil/\u{1b}\\ ![p](https://evil/p.png) -all",
    ));
    z.insert(txt_record("selector2._domainkey.", "\u{1b}[2J\u{7f}\u{9b}"));
    z.insert(txt_record(
        "_dmarc.",
        "v=DMARC1; p=\u{1b}[2J; rua=mailto:\u{1b}]8;;x@evil",
    ));
    let evil: &[&[u8]] = &[
        b"\x1b[2J\x1b]8;;https://evil/\x1b\\",
        b"\x07\x7f\xc2\x9b",
        b"evil",
    ];
    z.insert(Record::from_rdata(
        at(""),
        3600,
        RData::MX(MX::new(0, name(evil))),
    ));
    for sub in [
        "autodiscover.",
        "selector1._domainkey.",
        "sip.",
        "lyncdiscover.",
        "enterpriseregistration.",
        "enterpriseenrollment.",
    ] {
        z.insert(Record::from_rdata(
            at(sub),
            3600,
            RData::CNAME(CNAME(name(evil))),
        ));
    }
    for (sub, port) in [("_sip._tls.", 443), ("_sipfederationtls._tcp.", 5061)] {
        z.insert(Record::from_rdata(
            at(sub),
            3600,
            RData::SRV(SRV::new(100, 1, port, name(evil))),
        ));
    }
    z
}

/// No byte or character that a terminal, a Markdown renderer or an XML parser would act on.
#[track_caller]
fn assert_inert(what: &str, out: &str) {
    for (i, c) in out.char_indices() {
        let bad = (c.is_control() && c != '\n' && c != '\t' && c != '\r')
            || matches!(c, '\u{fffe}' | '\u{ffff}' | '\u{202a}'..='\u{202e}');
        assert!(
            !bad,
            "{what}: raw {c:?} at byte {i}: …{}…",
            out[..i]
                .chars()
                .rev()
                .take(60)
                .collect::<String>()
                .chars()
                .rev()
                .collect::<String>()
        );
    }
}

#[test]
fn escape_sequences_from_dns_never_reach_the_human_markdown_or_junit_output() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let srv = rt.block_on(server(hostile_zones(), Behaviour::default()));
    let dir = tempfile::tempdir().unwrap();
    let (md, junit, json) = (
        dir.path().join("r.md"),
        dir.path().join("r.xml"),
        dir.path().join("r.json"),
    );
    let o = bin()
        .args([
            "scan",
            D,
            "--only",
            "dns.*",
            "--no-progress",
            "--color",
            "always",
        ])
        .args(["--nameserver", &srv.addr().to_string()])
        .args(["--authoritative-port", &srv.addr().port().to_string()])
        .args(["--report", &format!("markdown={}", s(&md))])
        .args(["--report", &format!("junit={}", s(&junit))])
        .args(["--report", &format!("json={}", s(&json))])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let human = String::from_utf8(o.stdout).unwrap();
    // The human report's own colour codes are the only escapes: remove exactly those.
    let own = regex_lite_strip_sgr(&human);
    assert_inert("human", &own);
    assert!(human.contains("\\x1b[2J"), "shown visibly: {human}");
    let md = std::fs::read_to_string(&md).unwrap();
    assert_inert("markdown", &md);
    // Outside the fenced evidence blocks (shown literally by every Markdown renderer), no link,
    // image or HTML from the data is left live.
    let prose: String = md.split("```").step_by(2).collect::<Vec<_>>().join("");
    for link in ["](https://evil", "<img"] {
        assert!(
            !prose.contains(link),
            "markdown carries a live `{link}`: {prose}"
        );
    }
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert_inert("junit", &junit);
    // JSON keeps the raw value for machines, escaped by serde.
    let json = std::fs::read_to_string(&json).unwrap();
    assert_inert("json", &json);
    assert!(json.contains("\\u001b[2J"), "{json}");
}

/// Removes the SGR sequences the human renderer writes itself (`ESC [ digits ; … m`).
fn regex_lite_strip_sgr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\u{1b}') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        let sgr = tail.strip_prefix('[').and_then(|t| {
            let end = t.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
            (t.as_bytes()[end] == b'm').then_some(&t[end + 1..])
        });
        match sgr {
            Some(after) => rest = after,
            None => {
                // Not ours: keep it so the assertion reports it.
                out.push('\u{1b}');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

const EVIL: &str =
    "\u{1b}[2J\u{1b}]8;;https://evil/\u{1b}\\[x](https://evil/)<b>\u{7}\u{9b}\u{7f}\u{fffe}";

/// A report written by a real scan, then edited by hand: escapes, Markdown links and HTML in every
/// text field a renderer shows.
fn hostile_report(
    dir: &Path,
    name: &str,
    edit: impl Fn(&mut serde_json::Value),
) -> std::path::PathBuf {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let srv = rt.block_on(server(
        zones(&[(D, &crate::support::ready_zone(D))]),
        Behaviour::default(),
    ));
    let path = dir.join(name);
    let o = bin()
        .args([
            "scan",
            D,
            "--only",
            "dns.*",
            "--no-progress",
            "--format",
            "json",
        ])
        .args(["--nameserver", &srv.addr().to_string()])
        .args(["--authoritative-port", &srv.addr().port().to_string()])
        .arg("--output")
        .arg(&path)
        .output()
        .unwrap();
    assert!(o.status.code().is_some());
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let poison = |x: &mut serde_json::Value| {
        if let Some(t) = x.as_str() {
            *x = format!("{t}{EVIL}").into();
        }
    };
    poison(&mut v["tool"]["version"]);
    v["tenant"]["name"] = EVIL.into();
    poison(&mut v["tenant"]["domains"][0]);
    v["run"]["resolvers"][0] = EVIL.into();
    for r in v["results"].as_array_mut().unwrap() {
        for f in [
            "check",
            "subject",
            "message",
            "expected",
            "remediation",
            "docs",
        ] {
            poison(&mut r[f]);
        }
    }
    for r in v["responsibilities"].as_array_mut().unwrap() {
        for f in ["id", "seed_ref", "title", "title_ko"] {
            poison(&mut r[f]);
        }
    }
    edit(&mut v);
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

#[test]
fn saved_report_text_is_shown_not_acted_on_by_render_and_diff() {
    let dir = tempfile::tempdir().unwrap();
    let path = hostile_report(dir.path(), "evil.json", |_| {});
    let (code, _, err) = run(&["report", "render", s(&path), "--format", "json"]);
    assert_eq!(code, 0, "the hand-made report must load: {err}");
    for format in ["human", "markdown", "junit"] {
        let (code, out, err) = run(&[
            "report",
            "render",
            s(&path),
            "--format",
            format,
            "--color",
            "never",
        ]);
        assert_eq!(code, 0, "{format}: {err}");
        assert_inert(format, &out);
        if format == "markdown" {
            assert!(!out.contains("](https://evil"), "{out}");
            assert!(!out.contains("<b>"), "{out}");
        }
    }
    let worse = hostile_report(dir.path(), "worse.json", |v| {
        for r in v["results"].as_array_mut().unwrap() {
            r["status"] = "fail".into();
        }
    });
    let (code, out, err) = run(&["report", "diff", s(&path), s(&worse)]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("REGRESSED"), "{out}");
    assert_inert("diff", &out);
    assert_inert("diff stderr", &err);
}

#[test]
fn a_saved_report_whose_rows_point_past_its_results_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = hostile_report(dir.path(), "bad.json", |v| {
        v["responsibilities"][0]["results"] = serde_json::json!([0, 7000]);
    });
    for args in [
        vec!["report", "render", s(&path)],
        vec!["report", "render", s(&path), "--format", "markdown"],
        vec!["report", "diff", s(&path), s(&path)],
    ] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.contains("bad.json")
                && err.contains("responsibilities[0].results names result 7000"),
            "{err}"
        );
    }
}

/// A row may name a result once, and a result belongs to one row (issue 25: one index repeated
/// 200,000 times in a 783 KB report made `render --format html` allocate 7 GB).
#[test]
fn a_saved_report_naming_a_result_twice_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let repeated = hostile_report(dir.path(), "repeated.json", |v| {
        v["responsibilities"][0]["results"] =
            serde_json::Value::Array(std::iter::repeat_n(serde_json::json!(0), 200_000).collect());
    });
    let two_rows = hostile_report(dir.path(), "tworows.json", |v| {
        // Copy a result some row already owns into another row's list.
        let rows = v["responsibilities"].as_array_mut().unwrap();
        let owner = rows
            .iter()
            .position(|r| !r["results"].as_array().unwrap().is_empty())
            .unwrap();
        let first = rows[owner]["results"][0].clone();
        let other = usize::from(owner == 0);
        rows[other]["results"].as_array_mut().unwrap().push(first);
    });
    for (path, words) in [
        (
            &repeated,
            "responsibilities[0].results names result 0 again",
        ),
        (&two_rows, "names result"),
        (&two_rows, "again (a result belongs to one row, once)"),
    ] {
        for format in ["html", "markdown", "json"] {
            let (code, out, err) = run(&["report", "render", s(path), "--format", format]);
            assert_eq!(code, 2, "{format}: {out}{err}");
            assert_eq!(err.trim().lines().count(), 1, "{err}");
            assert!(err.contains(words), "{err}");
        }
    }
}

/// A saved report naming thousands of checks, each for its own subject, would draw a matrix of
/// rows × checks cells (2,000² here: ~36 MB of empty cells). At most `MAX_COLUMNS` checks per
/// section are drawn, and the caption says how many were left out; 5,000 subjects of one check
/// are all drawn, each once (issue 25: the subject lookup was linear, 10 s for 120,000).
#[test]
fn a_report_of_thousands_of_checks_and_subjects_renders_a_bounded_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let path = hostile_report(dir.path(), "wide.json", |v| {
        let template = v["results"][0].clone();
        let mut results = Vec::new();
        for i in 0..2_000 {
            let mut r = template.clone();
            r["check"] = format!("x.check-{i}").into();
            r["subject"] = format!("s{i}.example").into();
            results.push(r);
        }
        for i in 0..5_000 {
            let mut r = template.clone();
            r["check"] = "dns.mx".into();
            r["subject"] = format!("d{i}.example").into();
            results.push(r);
        }
        v["results"] = serde_json::Value::Array(results);
        for row in v["responsibilities"].as_array_mut().unwrap() {
            row["results"] = serde_json::json!([]);
        }
    });
    let size = std::fs::metadata(&path).unwrap().len();
    for format in ["html", "markdown"] {
        let out = dir.path().join(format!("wide.{format}"));
        let (code, stdout, err) = run(&[
            "report",
            "render",
            s(&path),
            "--format",
            format,
            "--output",
            s(&out),
        ]);
        assert_eq!(code, 0, "{format}: {stdout}{err}");
        let page = std::fs::read_to_string(&out).unwrap();
        // Now 2.2 MB of HTML and 0.15 MB of Markdown from the 9.3 MB file; all 2,000 columns
        // were 36 MB and 12 MB of empty cells alone.
        assert!(
            (page.len() as u64) < size,
            "{format}: {} bytes from a {size}-byte report",
            page.len()
        );
        assert!(
            page.contains("1936 more checks are not drawn: the matrix shows the first 64"),
            "{format}"
        );
        assert!(
            page.contains("d4999.example"),
            "{format}: every subject drawn"
        );
        assert!(
            !page.contains("x.check-64<"),
            "{format}: the 65th check is not a column"
        );
    }
}

/// A latency chart of a million samples draws 300 marks (range and median of each bin), and no
/// coordinate or value prints more than a dozen characters, whatever the file says (issue 25: a
/// 373 MB page; `1e300` printed 300 digits).
#[test]
fn a_latency_chart_of_a_million_samples_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let path = hostile_report(dir.path(), "latency.json", |v| {
        let mut r = v["results"][0].clone();
        r["check"] = "quality.latency".into();
        let mut samples: Vec<serde_json::Value> = (0..1_000_000)
            .map(|i| serde_json::json!(20 + i % 7))
            .collect();
        samples[10] = serde_json::json!(1e300);
        samples[11] = serde_json::json!(-1e300);
        samples[12] = serde_json::Value::Null;
        r["evidence"] = serde_json::json!({
            "samples_ms": samples,
            "rtt_median_ms": 1e300,
            "rtt_p90_ms": -1e300,
            "targets": {"rtt_ms": 1e300},
        });
        v["results"] = serde_json::json!([r]);
        for row in v["responsibilities"].as_array_mut().unwrap() {
            row["results"] = serde_json::json!([]);
        }
    });
    let out = dir.path().join("latency.html");
    let (code, stdout, err) = run(&[
        "report",
        "render",
        s(&path),
        "--format",
        "html",
        "--output",
        s(&out),
    ]);
    assert_eq!(code, 0, "{stdout}{err}");
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(page.len() < 400_000, "{} bytes", page.len());
    assert!(
        page.contains("1000000 samples, 1 lost"),
        "the caption counts every sample"
    );
    assert!(page.contains("drawn as 300 marks of up to 3334"));
    assert_eq!(page.matches("<circle class=\"sample\"").count(), 300);
    let longest_number = page
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest_number <= 12, "a number of {longest_number} digits");
}

#[test]
fn absurd_durations_and_empty_cloud_lists_are_usage_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let checks = dir.path().join("checks");
    std::fs::create_dir(&checks).unwrap();
    std::fs::copy("checks/dns.toml", checks.join("dns.toml")).unwrap();
    let clouds = std::fs::read_to_string("checks/clouds.toml")
        .unwrap()
        .replacen(
            r#"mx = ["*.mail.protection.outlook.com", "*.*-v1.mx.microsoft"]"#,
            "mx = []",
            1,
        );
    std::fs::write(checks.join("clouds.toml"), clouds).unwrap();
    // Port 9 on loopback: nothing is asked of anyone; every case stops before the first query.
    let ns = ["--nameserver", "127.0.0.1:9"];
    for (args, says) in [
        (
            vec!["--timeout", "300000000000y"],
            "--timeout `300000000000y` is longer than 1day",
        ),
        (
            vec!["--budget", "300000000000y"],
            "--budget `300000000000y` is longer than 1day",
        ),
        (vec!["--timeout", "0s"], "--timeout must be more than zero"),
        // Once a panic in Semaphore::new (beyond MAX_PERMITS) with --nameserver.
        (
            vec!["--concurrency", "576460752303423488"],
            "--concurrency 576460752303423488 is more than 65536",
        ),
        (
            vec!["--checks", s(&checks)],
            "cloud.worldwide.mx is an empty list",
        ),
    ] {
        let o = bin()
            .args(["scan", "contoso.com", "--only", "dns.mx"])
            .args(ns)
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
