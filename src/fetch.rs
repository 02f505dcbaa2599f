//! `tenant-ready endpoints fetch`: the Microsoft 365 IP/URL web service, used as Microsoft asks
//! (learn.microsoft.com/microsoft-365/enterprise/microsoft-365-ip-web-service): one ClientRequestId GUID per machine, reused; the version method first (never
//! rate limited); the endpoints method only when the version changed; HTTP 429 explained, not
//! retried. The result is written atomically in the saved shape `EndpointList` reads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::cli::FetchArgs;
use crate::endpoint_sets::EndpointList;

/// The instances the web service knows.
pub const INSTANCES: &[&str] = &["Worldwide", "USGovDoD", "USGovGCCHigh", "China"];

/// Why a fetch failed; `usage` is the caller's mistake (exit 2), the rest are exit 1.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// The web service could not be used.
    #[error("{0}")]
    Failed(String),
}

/// What happened.
#[derive(Debug, PartialEq, Eq)]
pub enum Fetched {
    /// Written: (version, number of endpoint sets).
    Written(String, usize),
    /// The file already holds this version.
    UpToDate(String),
}

#[derive(Deserialize)]
struct Version {
    latest: String,
}

/// Checks a GUID's shape (8-4-4-4-12 hex).
pub fn valid_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A random (version 4) GUID.
pub fn new_guid() -> Result<String, FetchError> {
    let mut b = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| FetchError::Failed("no randomness available".into()))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = b.iter().fold(String::with_capacity(32), |mut h, x| {
        use std::fmt::Write as _;
        let _ = write!(h, "{x:02x}");
        h
    });
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

/// Where this machine's ClientRequestId lives.
fn id_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("tenant-ready").join("client-request-id"))
}

/// The machine's ClientRequestId: read, or generated and kept (Microsoft asks for one per machine;
/// the documentation's sample GUID may be blocked).
pub fn client_request_id(given: Option<&str>) -> Result<String, FetchError> {
    if let Some(g) = given {
        return if valid_guid(g) {
            Ok(g.to_ascii_lowercase())
        } else {
            Err(FetchError::Usage(format!(
                "--client-request-id `{g}` is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
            )))
        };
    }
    let file = id_file();
    if let Some(f) = &file
        && let Ok(text) = std::fs::read_to_string(f)
        && valid_guid(text.trim())
    {
        return Ok(text.trim().to_owned());
    }
    let id = new_guid()?;
    if let Some(f) = &file {
        // Best effort: without a writable config directory the next run simply uses a new id.
        let _ = f
            .parent()
            .map(std::fs::create_dir_all)
            .transpose()
            .and_then(|_| crate::report::write_atomic(f, format!("{id}\n").as_bytes()));
    }
    Ok(id)
}

/// The version of a list saved earlier, in whatever encoding it was saved (PowerShell's
/// `Out-File` writes UTF-16).
fn version_in(path: &Path) -> Option<String> {
    EndpointList::read(path).ok()?.version
}

async fn get(client: &reqwest::Client, url: &str, what: &str) -> Result<String, FetchError> {
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| FetchError::Failed(format!("{what}: cannot reach {url}: {e}")))?;
    let status = resp.status();
    if status.as_u16() == 429 {
        return Err(FetchError::Failed(format!(
            "{what}: the web service answered HTTP 429: too many calls from this client IP address. Wait an hour before calling again; the version method is never rate-limited, so check it (at most hourly) and call the endpoints method only when the version changed"
        )));
    }
    if !status.is_success() {
        return Err(FetchError::Failed(format!(
            "{what}: {url} answered HTTP {status}"
        )));
    }
    resp.text()
        .await
        .map_err(|e| FetchError::Failed(format!("{what}: reading {url}: {e}")))
}

/// Runs the fetch.
pub async fn fetch(a: &FetchArgs) -> Result<Fetched, FetchError> {
    let instance = INSTANCES
        .iter()
        .find(|i| i.eq_ignore_ascii_case(&a.instance))
        .ok_or_else(|| {
            FetchError::Usage(format!(
                "--instance `{}`: one of {}",
                a.instance,
                INSTANCES.join(", ")
            ))
        })?;
    let id = client_request_id(a.client_request_id.as_deref())?;
    let base = a.base_url.trim_end_matches('/');
    let tls = crate::tls::TlsCx::new(None).map_err(|e| FetchError::Failed(e.to_string()))?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls.verifying_config())
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("tenant-ready/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Failed(e.to_string()))?;
    let v_url = format!("{base}/version/{instance}?clientrequestid={id}");
    let v: Version = serde_json::from_str(&get(&client, &v_url, "version").await?)
        .map_err(|e| FetchError::Failed(format!("version: unexpected answer from {v_url}: {e}")))?;
    if !v.latest.len().eq(&10) || !v.latest.chars().all(|c| c.is_ascii_digit()) {
        return Err(FetchError::Failed(format!(
            "version: `{}` is not a YYYYMMDDNN version",
            v.latest
        )));
    }
    if !a.force && version_in(&a.output).as_deref() == Some(v.latest.as_str()) {
        return Ok(Fetched::UpToDate(v.latest));
    }
    let mut e_url = format!("{base}/endpoints/{instance}?clientrequestid={id}");
    if let Some(t) = &a.tenant {
        e_url.push_str(&format!("&TenantName={t}"));
    }
    let body = get(&client, &e_url, "endpoints").await?;
    let sets: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| FetchError::Failed(format!("endpoints: not JSON ({e})")))?;
    let saved = serde_json::json!({
        "instance": instance,
        "version": v.latest,
        "fetched_at": crate::report::rfc3339(std::time::SystemTime::now()),
        "source": e_url.replace(&id, "<client-request-id>"),
        "endpoints": sets,
    });
    let text =
        serde_json::to_string_pretty(&saved).map_err(|e| FetchError::Failed(e.to_string()))?;
    // Refuse to write what `scan --endpoints` could not read.
    let list = EndpointList::parse(&text, &e_url).map_err(FetchError::Failed)?;
    crate::report::write_atomic(&a.output, text.as_bytes())
        .map_err(|e| FetchError::Failed(format!("cannot write {}: {e}", a.output.display())))?;
    Ok(Fetched::Written(v.latest, list.sets.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        let g = new_guid().unwrap();
        assert!(valid_guid(&g), "{g}");
        assert_eq!(&g[14..15], "4");
        assert!(!valid_guid("b10c5ed1-bad1-445f-b386"));
        assert!(client_request_id(Some("not-a-guid")).is_err());
    }
}
