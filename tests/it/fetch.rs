//! `tenant-ready endpoints fetch` against a loopback stand-in for endpoints.office.com: version
//! first, the same ClientRequestId on every call, nothing downloaded when current, 429 explained.

use std::sync::{Arc, Mutex};

use tenant_ready::lab::tls_server::{LabServer, Mode, Route};

fn route(path: &str, status: u16, body: &str) -> Route {
    Route {
        path: path.into(),
        status,
        content_type: "application/json".into(),
        body: body.as_bytes().to_vec(),
        location: None,
    }
}

const SETS: &str = r#"[{"id":1,"serviceArea":"Exchange","urls":["outlook.office365.com"],"tcpPorts":"80,443","category":"Optimize","required":true,"expressRoute":true}]"#;

fn fetch(base: &str, dir: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("tenant-ready"))
        .args(["endpoints", "fetch", "--base-url", base, "--output"])
        .arg(dir.join("m365.json"))
        .args(extra)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn fetch_asks_the_version_first_and_keeps_its_client_id() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let routes = vec![
        route(
            "/version/Worldwide",
            200,
            r#"{"instance":"Worldwide","latest":"2026110100"}"#,
        ),
        route("/endpoints/Worldwide", 200, SETS),
        route(
            "/version/China",
            200,
            r#"{"instance":"China","latest":"2026110100"}"#,
        ),
        route("/endpoints/China", 429, "Too Many Requests"),
    ];
    let srv = LabServer::start(
        "127.0.0.1:0".parse().unwrap(),
        Mode::Http(routes.into(), Arc::clone(&log)),
    )
    .await
    .unwrap();
    let base = format!("http://{}", srv.addr());
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = tokio::task::block_in_place(|| fetch(&base, dir.path(), &[]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 endpoint sets, version 2026110100"), "{err}");
    let saved = std::fs::read_to_string(dir.path().join("m365.json")).unwrap();
    let list = tenant_ready::endpoint_sets::EndpointList::parse(&saved, "saved").unwrap();
    assert_eq!(list.version.as_deref(), Some("2026110100"));
    assert_eq!(list.instance.as_deref(), Some("Worldwide"));
    // Current: only the version method is asked.
    let (code, err) = tokio::task::block_in_place(|| fetch(&base, dir.path(), &[]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already has the latest version"), "{err}");
    let requests = log.lock().unwrap().clone();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(requests[0].starts_with("GET /version/Worldwide?clientrequestid="));
    assert!(requests[1].starts_with("GET /endpoints/Worldwide?clientrequestid="));
    let id = |r: &str| {
        r.split("clientrequestid=")
            .nth(1)
            .unwrap()
            .split([' ', '&'])
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        id(&requests[0]),
        id(&requests[2]),
        "one id per machine, reused"
    );
    assert!(tenant_ready::fetch::valid_guid(&id(&requests[0])));
    // The same file re-saved by PowerShell's Out-File (UTF-16LE with a BOM) is still recognised.
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(saved.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(dir.path().join("m365.json"), utf16).unwrap();
    let (code, err) = tokio::task::block_in_place(|| fetch(&base, dir.path(), &[]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already has the latest version"), "{err}");
    // 429: explained, nothing written, exit 1.
    let (code, err) = tokio::task::block_in_place(|| {
        fetch(
            &base,
            dir.path(),
            &["--instance", "china", "--output-dummy"],
        )
    });
    assert_eq!(code, 2, "unknown flag: {err}");
    let out = dir.path().join("china.json");
    let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("tenant-ready"))
        .args([
            "endpoints",
            "fetch",
            "--base-url",
            &base,
            "--instance",
            "china",
            "--output",
        ])
        .arg(&out)
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("HTTP 429")
            && err.contains("client IP address")
            && err.contains("Wait an hour")
            && !err.contains("ClientRequestId"),
        "{err}"
    );
    assert!(!out.exists());
    let (code, err) =
        tokio::task::block_in_place(|| fetch(&base, dir.path(), &["--instance", "Germany"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("one of Worldwide, USGovDoD, USGovGCCHigh, China"),
        "{err}"
    );
}
