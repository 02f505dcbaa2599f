//! The Microsoft 365 endpoint list: the embedded copy is Microsoft's published worldwide list
//! (byte for byte), `endpoints show` prints what a scan would use in Microsoft's own shape, and
//! every reader accepts the UTF-16 files PowerShell writes.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use tenant_ready::endpoint_sets::{Category, EMBEDDED_WORLDWIDE, EndpointList};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn run(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = StdCommand::new(assert_cmd::cargo::cargo_bin("tenant-ready"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_embedded_list_is_the_published_copy_unchanged() {
    let p = EndpointList::provenance().unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, EMBEDDED_WORLDWIDE.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, p.sha256, "checks/endpoints-worldwide.json was edited");
    assert_eq!(p.version, None, "no invented version number");
    let list = EndpointList::embedded().unwrap();
    assert_eq!(list.sets.len(), 63);
    assert_eq!(list.sets.iter().map(|s| s.id).max(), Some(193));
    // Facts the reconstructed snapshot had wrong (FACTS.md Corrections, 2026-11-29).
    let set = |id: u32| list.sets.iter().find(|s| s.id == id).unwrap();
    assert!(set(2).express_route);
    assert!(set(46).required && set(46).category == Category::Allow);
    assert!(set(64).required && set(64).category == Category::Allow);
    assert_eq!(
        set(12).service_area_display_name.as_deref(),
        Some("Microsoft Teams")
    );
}

#[test]
fn show_json_is_microsofts_shape_with_every_required_optimize_and_allow_set() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(&["endpoints", "show", "--format", "json"], dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Worldwide, version not recorded, copied 2026-11-29"),
        "{err}"
    );
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    let published: serde_json::Value = serde_json::from_str(EMBEDDED_WORLDWIDE).unwrap();
    let required: Vec<&serde_json::Value> = published
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["required"] == true && (s["category"] == "Optimize" || s["category"] == "Allow")
        })
        .collect();
    assert_eq!(required.len(), 9, "sets 1, 9, 10, 11, 12, 31, 46, 56, 64");
    for set in required {
        let mine = shown
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == set["id"])
            .unwrap_or_else(|| panic!("set {} missing", set["id"]));
        assert_eq!(mine, set, "set {} differs from Microsoft's", set["id"]);
    }
    // Field order and absent fields as the service writes them.
    assert_eq!(shown, published);
    let (code, out, _) = run(&["endpoints", "show"], dir.path());
    assert_eq!(code, 0);
    assert!(
        out.contains("63 endpoint sets: 3 Optimize, 7 Allow, 53 Default"),
        "{out}"
    );
    assert!(
        out.contains("Refresh: tenant-ready endpoints fetch"),
        "{out}"
    );
}

#[test]
fn utf16_files_as_powershell_saves_them_load_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    // A real 2020 response saved with Out-File (UTF-16LE, BOM, CRLF).
    let old = fixture(
        "tests/fixtures/external/m365-endpoints/thomaskur-AzureEndpointCache.2020-05-31.utf16le.json",
    );
    let list = EndpointList::read(&old).unwrap();
    assert_eq!(list.sets.len(), 115);
    let s11 = list.sets.iter().find(|s| s.id == 11).unwrap();
    assert_eq!(s11.udp_ports.as_deref(), Some("3478,3479,3480,3481"));
    let (code, out, err) = run(
        &["endpoints", "show", "--endpoints", old.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("115 endpoint sets"), "{out}");
    // Today's list re-saved as UTF-16, found through tenant.toml's [network] endpoints_file
    // (relative to the file).
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(EMBEDDED_WORLDWIDE.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::write(dir.path().join("conf/m365.json"), utf16).unwrap();
    std::fs::write(
        dir.path().join("conf/tenant.toml"),
        "[[domain]]\nname = \"contoso.com\"\n[network]\nendpoints_file = \"m365.json\"\n",
    )
    .unwrap();
    let (code, out, err) = run(
        &[
            "endpoints",
            "show",
            "--config",
            "conf/tenant.toml",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("conf/m365.json"), "{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::from_str::<serde_json::Value>(EMBEDDED_WORLDWIDE).unwrap()
    );
}

#[test]
fn no_embedded_list_for_other_clouds_and_garbage_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tenant.toml"),
        "[tenant]\ncloud = \"gcc-high\"\n[[domain]]\nname = \"agency.gov\"\n",
    )
    .unwrap();
    let (code, _, err) = run(&["endpoints", "show"], dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no endpoint list is embedded for the gcc-high cloud")
            && err.contains("--instance USGovGCCHigh"),
        "{err}"
    );
    std::fs::write(dir.path().join("bad.json"), [0xFF, 0xFE, b'[']).unwrap();
    let (code, _, err) = run(
        &["endpoints", "show", "--endpoints", "bad.json"],
        dir.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad.json: UTF-16 text with an odd number of bytes"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
