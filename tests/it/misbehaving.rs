//! Servers that misbehave: never answer, refuse, fail, truncate, loop, flood with big records or
//! deep include chains. Every case ends within its timeout with `fail` or `error` (never a panic or
//! a hang) and a message a customer understands.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use tenant_ready::lab::Behaviour;
use tenant_ready::outcome::Status;

use crate::support::{Scan, assert_status, error_kind, ready_zone, result, scan, server, zones};

const D: &str = "contoso.test";

async fn scan_with(
    zone: &str,
    behaviour: Behaviour,
    only: &[&str],
    timeout: &str,
) -> (Vec<tenant_ready::outcome::CheckResult>, Duration, u64) {
    let srv = server(zones(&[(D, zone)]), behaviour).await;
    let start = Instant::now();
    let results = scan(
        srv.addr(),
        Scan {
            domains: &[D],
            only,
            timeout,
            ..Scan::default()
        },
    )
    .await;
    // The time taken is returned for diagnostics only: tests assert what happened (a `timeout`
    // error, a bounded number of queries), never how long it took on a shared machine.
    (results, start.elapsed(), srv.queries())
}

#[tokio::test]
async fn a_server_that_never_answers_is_an_error_not_a_failure() {
    let silent = Behaviour {
        silent: true,
        ..Behaviour::default()
    };
    let (results, _, _) = scan_with(&ready_zone(D), silent, &["dns.*"], "1s").await;
    assert_eq!(results.len(), 11);
    for r in &results {
        assert_status(r, Status::Error);
        assert!(
            matches!(error_kind(r), "timeout"),
            "{}: {}",
            r.check,
            r.evidence
        );
        assert!(
            r.message.contains("no answer") || r.message.contains("timeout"),
            "{}",
            r.message
        );
    }
}

#[tokio::test]
async fn refused_and_servfail_are_errors_with_their_names() {
    for (code, kind, words) in [
        (ResponseCode::Refused, "refused", "REFUSED"),
        (ResponseCode::ServFail, "servfail", "SERVFAIL"),
    ] {
        let b = Behaviour {
            rcode: Some(code),
            ..Behaviour::default()
        };
        let (results, _, _) = scan_with(&ready_zone(D), b, &["dns.mx", "dns.spf"], "2s").await;
        for r in &results {
            assert_status(r, Status::Error);
            assert_eq!(error_kind(r), kind);
            assert!(
                r.message.contains(words) && r.message.contains("contoso.test MX")
                    || r.message.contains("contoso.test TXT"),
                "{}",
                r.message
            );
        }
    }
}

#[tokio::test]
async fn a_nested_include_that_fails_makes_spf_an_error() {
    let zone = ready_zone(D).replace(
        "include:spf.protection.outlook.com -all",
        "include:spf.protection.outlook.com include:_spf.broken.test -all",
    );
    let b = Behaviour {
        rcode_for: HashMap::from([("_spf.broken.test".to_owned(), ResponseCode::ServFail)]),
        ..Behaviour::default()
    };
    let (results, _, _) = scan_with(&zone, b, &["dns.spf"], "2s").await;
    let r = result(&results, "dns.spf");
    assert_status(r, Status::Error);
    assert!(r.message.contains("_spf.broken.test"), "{}", r.message);
}

#[tokio::test]
async fn truncated_udp_answers_are_retried_over_tcp() {
    let b = Behaviour {
        truncate_udp: true,
        ..Behaviour::default()
    };
    let (results, _, _) = scan_with(&ready_zone(D), b, &["dns.mx", "dns.spf"], "2s").await;
    for r in &results {
        assert_status(r, Status::Pass);
    }
    // …and without TCP the scanner says so instead of guessing.
    let b = Behaviour {
        truncate_udp: true,
        no_tcp: true,
        ..Behaviour::default()
    };
    let (results, _, _) = scan_with(&ready_zone(D), b, &["dns.mx"], "2s").await;
    let r = result(&results, "dns.mx");
    assert_status(r, Status::Error);
}

#[tokio::test]
async fn a_4kb_txt_record_comes_over_tcp_and_is_judged() {
    let chunk = "x".repeat(250);
    let big: String = (0..16).map(|i| format!("\"{i:02}{chunk}\" ")).collect();
    let zone = format!("{}@ IN TXT {big}\n", ready_zone(D));
    let (results, _, _) = scan_with(
        &zone,
        Behaviour::default(),
        &["dns.verification", "dns.spf"],
        "2s",
    )
    .await;
    let v = result(&results, "dns.verification");
    assert_status(v, Status::Pass);
    let txts = v.evidence["lookups"][0]["answer"]["records"]
        .as_array()
        .unwrap();
    assert!(
        txts.iter().any(|t| t.as_str().unwrap().len() >= 4000),
        "the whole 4 KB record arrived"
    );
    assert_status(result(&results, "dns.spf"), Status::Pass);
}

#[tokio::test]
async fn a_cname_loop_ends_quickly_with_a_clear_result() {
    let zone = ready_zone(D).replace(
        "_dmarc IN TXT \"v=DMARC1; p=reject\"",
        "_dmarc IN CNAME loop.contoso.test.\nloop IN CNAME _dmarc.contoso.test.",
    );
    let (results, _, queries) = scan_with(&zone, Behaviour::default(), &["dns.dmarc"], "2s").await;
    let r = result(&results, "dns.dmarc");
    // The loop resolves to no record (a missing DMARC record warns: it is recommended).
    assert!(
        matches!(r.status, Status::Warn | Status::Fail | Status::Error),
        "{r:?}"
    );
    assert!(r.message.contains("_dmarc.contoso.test"), "{}", r.message);
    assert!(
        queries < 50,
        "the loop is not followed forever: {queries} queries"
    );
}

#[tokio::test]
async fn an_spf_include_chain_30_deep_stops_at_the_limit() {
    let mut zone = ready_zone(D).replace(
        "include:spf.protection.outlook.com -all",
        "include:spf.protection.outlook.com include:_s1.contoso.test -all",
    );
    for i in 1..=30 {
        zone.push_str(&format!(
            "_s{i} IN TXT \"v=spf1 include:_s{}.contoso.test -all\"\n",
            i + 1
        ));
    }
    let (results, _, queries) = scan_with(&zone, Behaviour::default(), &["dns.spf"], "2s").await;
    let r = result(&results, "dns.spf");
    assert_status(r, Status::Fail);
    assert!(
        r.message.contains("more than 10 DNS lookups"),
        "{}",
        r.message
    );
    assert_eq!(r.evidence["problem"]["kind"], "too_many_lookups");
    assert_eq!(r.evidence["lookups"], 11);
    assert!(
        queries <= 12,
        "evaluation stopped at the limit: {queries} queries"
    );
}

#[tokio::test]
async fn a_slow_server_beyond_the_timeout_is_a_timeout_error() {
    let slow = Behaviour {
        delay: Duration::from_millis(1500),
        ..Behaviour::default()
    };
    let (results, _, _) = scan_with(&ready_zone(D), slow, &["dns.mx"], "500ms").await;
    let r = result(&results, "dns.mx");
    assert_status(r, Status::Error);
    assert_eq!(error_kind(r), "timeout");
}

#[tokio::test]
async fn one_silent_name_does_not_stall_the_others() {
    let b = Behaviour {
        silent_for: HashSet::from(["_dmarc.contoso.test".to_owned()]),
        ..Behaviour::default()
    };
    let (results, _, _) = scan_with(&ready_zone(D), b, &["dns.dmarc", "dns.mx"], "1s").await;
    assert_status(result(&results, "dns.dmarc"), Status::Error);
    assert_status(result(&results, "dns.mx"), Status::Pass);
}

/// A lookup bomb: every record includes 5 others, 8 levels deep, and the servers of the deep
/// levels never answer. Counting each fetched record's DNS-querying terms as a receiver would
/// (for a sender no term matches), the limit is passed on the third record fetched: the verdict
/// is the permerror, and the deep servers are never asked (asking them would time out).
#[tokio::test]
async fn an_spf_lookup_bomb_is_a_permerror_without_asking_the_deep_servers() {
    let children = |depth: u32| -> String {
        (0..5)
            .map(|i| format!("include:d{depth}-{i}.contoso.test"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut zone = ready_zone(D).replace(
        "include:spf.protection.outlook.com -all",
        &format!("include:spf.protection.outlook.com {} -all", children(1)),
    );
    let mut silent = HashSet::new();
    for depth in 1..=8 {
        for i in 0..5 {
            zone.push_str(&format!(
                "d{depth}-{i} IN TXT \"v=spf1 {} -all\"\n",
                children(depth + 1)
            ));
            if depth >= 3 {
                silent.insert(format!("d{depth}-{i}.contoso.test"));
            }
        }
    }
    let b = Behaviour {
        silent_for: silent,
        ..Behaviour::default()
    };
    let (results, _, queries) = scan_with(&zone, b, &["dns.spf"], "2s").await;
    let r = result(&results, "dns.spf");
    assert_status(r, Status::Fail);
    assert_eq!(
        r.evidence["problem"]["kind"], "too_many_lookups",
        "{}",
        r.evidence
    );
    assert!(
        r.message.contains("more than 10 DNS lookups"),
        "{}",
        r.message
    );
    // The apex (twice: the record list, then the walk), outlook's include, d1-0 and d2-0.
    assert!(queries <= 6, "stopped at the limit: {queries} queries");
}

/// Answers a careful client must not accept over UDP: under another id (ignored: the query ends
/// as a timeout), for another question under the right id or the query itself sent back (ignored,
/// and said so; the echo once read as NODATA and failed the check), and bytes that
/// are no DNS message under the right id (the server is broken: said at once). The check timeout
/// (5 s) is above the per-query one (2 s), so the query's own verdict is what reaches the report.
#[tokio::test]
async fn answers_that_do_not_match_the_query_are_never_accepted() {
    let cases = [
        (
            Behaviour {
                wrong_id: true,
                ..Behaviour::default()
            },
            "timeout",
            "no answer before the timeout",
        ),
        (
            Behaviour {
                wrong_question: true,
                ..Behaviour::default()
            },
            "timeout",
            "under this query's id that did not answer it",
        ),
        (
            Behaviour {
                echo: true,
                ..Behaviour::default()
            },
            "timeout",
            "under this query's id that did not answer it",
        ),
        (
            Behaviour {
                garbage: true,
                ..Behaviour::default()
            },
            "malformed",
            "unreadable answer",
        ),
    ];
    for (behaviour, kind, words) in cases {
        let (results, _, _) = scan_with(&ready_zone(D), behaviour, &["dns.mx"], "5s").await;
        let r = result(&results, "dns.mx");
        assert_status(r, Status::Error);
        assert_eq!(error_kind(r), kind, "{}", r.message);
        assert!(r.message.contains(words), "{}", r.message);
        assert!(r.message.contains("contoso.test MX"), "{}", r.message);
    }
}

/// Identical questions share one exchange: a thousand domains' SPF records all include Microsoft's
/// record, and the scan asks for it once (the answer is reused for its TTL).
#[tokio::test]
async fn a_question_many_checks_share_is_asked_once() {
    let names = ["a.test", "b.test", "c.test", "d.test"];
    let zs: Vec<(&str, String)> = names.iter().map(|d| (*d, ready_zone(d))).collect();
    let refs: Vec<(&str, &str)> = zs.iter().map(|(o, z)| (*o, z.as_str())).collect();
    let srv = server(zones(&refs), Behaviour::default()).await;
    let results = scan(
        srv.addr(),
        Scan {
            domains: &names,
            only: &["dns.spf"],
            ..Scan::default()
        },
    )
    .await;
    assert_eq!(results.len(), names.len());
    for r in &results {
        assert_status(r, Status::Pass);
    }
    assert_eq!(srv.queries_for("spf.protection.outlook.com"), 1);
    // Each domain's apex TXT is asked once too, though the SPF check reads it twice (the record
    // list, then the evaluation).
    for d in names {
        assert_eq!(srv.queries_for(d), 1, "{d}");
    }
}

/// Many domains served by the same name servers (one organisation's domains usually are) have
/// their NS comparisons asked together when the server is far away: the server (every answer 30
/// ms late) holds every direct question after the first few until a hundred different ones have
/// come, which the first window of 64 in flight never reaches. The window opens only because the
/// round trip the first answers took calls for more; with a fixed 64 every comparison would time
/// out.
#[tokio::test]
async fn domains_sharing_a_far_name_server_are_compared_in_parallel() {
    const N: usize = 100;
    let names: Vec<String> = (0..N).map(|i| format!("d{i}.test")).collect();
    let zs: Vec<(&str, String)> = names.iter().map(|d| (d.as_str(), ready_zone(d))).collect();
    let refs: Vec<(&str, &str)> = zs.iter().map(|(o, z)| (*o, z.as_str())).collect();
    let gate = Behaviour {
        delay: Duration::from_millis(30),
        hold_direct_until: Some(N),
        // Any one of them, answered without a retransmission, teaches the round trip.
        hold_direct_after: 16,
        ..Behaviour::default()
    };
    let srv = server(zones(&refs), gate).await;
    let domains: Vec<&str> = names.iter().map(String::as_str).collect();
    let results = scan(
        srv.addr(),
        Scan {
            domains: &domains,
            only: &["dns.ns-consistency"],
            // Generous: the held questions wait only for the other domains' first lookups.
            timeout: "20s",
            ..Scan::default()
        },
    )
    .await;
    assert_eq!(results.len(), N);
    for r in &results {
        assert_status(r, Status::Pass);
    }
}

/// A lost datagram is sent again: a server that drops the first query for every name (as a busy
/// server's full receive queue does) still gets every question answered, the verdicts are those
/// of a server that loses nothing, and the evidence counts the datagrams sent again. (A
/// retransmission waits at least 250 ms, so the timeout leaves room for a check's few sequential
/// lookups each losing one datagram.)
#[tokio::test]
async fn a_lost_datagram_is_sent_again_and_the_verdicts_stand() {
    let zone = ready_zone(D);
    let (clean, _, asked) = scan_with(&zone, Behaviour::default(), &["dns.*"], "10s").await;
    let lossy = Behaviour {
        lose_first_udp: true,
        ..Behaviour::default()
    };
    let (results, _, asked_lossy) = scan_with(&zone, lossy, &["dns.*"], "10s").await;
    assert_eq!(results.len(), clean.len());
    for (r, c) in results.iter().zip(&clean) {
        assert_eq!(r.check, c.check);
        assert_eq!(r.status, c.status, "{}: {}", r.check, r.message);
    }
    assert!(
        clean.iter().all(|r| r.status == Status::Pass),
        "the ready zone passes"
    );
    assert!(
        asked_lossy > asked,
        "the lost queries were sent again: {asked_lossy} vs {asked}"
    );
    // Every transmission shows in the evidence: the lookups that needed one more say so.
    let said = |rs: &[tenant_ready::outcome::CheckResult]| {
        rs.iter()
            .filter(|r| r.evidence.raw().contains("\"retransmitted\":"))
            .count()
    };
    assert_eq!(said(&clean), 0, "nothing was lost in the clean run");
    assert!(
        said(&results) > 0,
        "the lossy run's evidence names its retransmissions"
    );
}

/// A resolver that cannot see the public internet (a lab VM, a captive network, a broken
/// forwarder) says every name does not exist. Before any "does not exist" is believed the scan
/// asks it for the cloud's SPF include: when that does not resolve either, every DNS verdict
/// resting on NXDOMAIN/NODATA is an error naming the resolver (exit 3), with one line on stderr,
/// instead of a dozen failures (issue 24).
#[tokio::test(flavor = "multi_thread")]
async fn a_resolver_blind_to_the_internet_makes_negative_answers_errors() {
    // It knows one name of the domain (an internal view), and nothing public.
    let mut blind = tenant_ready::lab::Zones::default();
    blind
        .add_zone(".", "@ 60 IN SOA ns.invalid. h.invalid. 1 60 60 60 60\n")
        .unwrap();
    blind
        .add_zone(
            D,
            "$TTL 3600\n@ IN SOA ns1 h 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n@ IN TXT \"MS=ms12345678\"\n",
        )
        .unwrap();
    let srv = server(blind, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let addr = srv.addr();
    let out = tokio::task::block_in_place(|| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("tenant-ready"))
            .args([
                "scan",
                D,
                "--no-progress",
                "--only",
                "dns.*",
                "--skip",
                "entra.*",
            ])
            .args(["--nameserver", &addr.to_string()])
            .args(["--authoritative-port", &addr.port().to_string()])
            .args(["--timeout", "2s"])
            .arg("--report")
            .arg(format!("json={}", json.display()))
            .output()
            .unwrap()
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("cannot see the public internet"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains(&addr.to_string())
            && warnings[0].contains("spf.protection.outlook.com is NXDOMAIN"),
        "{stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(report["summary"]["fail"], 0, "{}", report["summary"]);
    // The TXT it does serve still passes, and so does the comparison of the authoritative
    // servers (their answers are the zone's own word); what rests on "does not exist" is an error.
    for r in results {
        match r["check"].as_str().unwrap() {
            "dns.verification" | "dns.ns-consistency" => assert_eq!(r["status"], "pass", "{r}"),
            _ => {
                assert_eq!(r["status"], "error", "{r}");
                assert_eq!(r["evidence"]["error"]["kind"], "blind_resolver", "{r}");
            }
        }
    }
    let mx = results.iter().find(|r| r["check"] == "dns.mx").unwrap();
    assert!(
        mx["message"].as_str().unwrap().contains(
            "but it also says spf.protection.outlook.com, a name Microsoft 365 publishes, is NXDOMAIN (the name does not exist): this resolver cannot see the public internet"
        ),
        "{mx}"
    );

    // The same empty domain behind a resolver that does see Microsoft's names: failures.
    let srv = server(
        zones(&[(
            D,
            "$TTL 3600\n@ IN SOA ns1 h 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n",
        )]),
        Behaviour::default(),
    )
    .await;
    let results = scan(
        srv.addr(),
        Scan {
            domains: &[D],
            only: &["dns.mx"],
            ..Scan::default()
        },
    )
    .await;
    assert_status(result(&results, "dns.mx"), Status::Fail);
}

/// RFC 2181 §8: a TTL with the most significant bit set is read as zero. An MX TTL of 2³¹+5 s is
/// not "2147483653 s, lower it before the cutover": it is zero, and the check passes.
#[tokio::test]
async fn a_ttl_with_the_top_bit_set_reads_as_zero() {
    let zone = ready_zone(D).replace(" IN MX 0 ", " 2147483653 IN MX 0 ");
    assert!(zone.contains("2147483653 IN MX"), "{zone}");
    let (results, _, _) = scan_with(&zone, Behaviour::default(), &["dns.mx"], "5s").await;
    let r = result(&results, "dns.mx");
    assert_status(r, Status::Pass);
    assert!(!r.message.contains("TTL"), "{}", r.message);
    assert!(
        r.evidence.raw().contains("\"ttl_s\":0"),
        "{}",
        r.evidence.raw()
    );
}
