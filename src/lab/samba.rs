//! A real Active Directory domain controller for the directory checks: Samba (`samba-tool domain
//! provision --server-role=dc`), provisioned offline into a temporary directory and served from
//! its own network namespace (Samba binds only to an address an interface carries, and a
//! namespace gives it one without touching the host's loopback). The scanner reaches it over the
//! namespace's veth pair, so nothing leaves the machine.
//!
//! Like hardened AD, Samba refuses a simple bind over plain LDAP ("Strong(er) authentication
//! required"); its LDAPS/StartTLS certificate comes from the lab's own CA ([`super::pki`]), issued
//! for the namespace address and `dc1.contoso.local`, so `--ca-file` verifies it.
//!
//! The lab extends the schema with the two Exchange attributes IdFix reads that plain AD lacks
//! (`mailNickname`, `targetAddress`: Exchange's own attribute ids and syntaxes), as an Exchange
//! schema preparation would. Root only: the namespace needs it, and so does Samba.

use std::collections::HashSet;
use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Mod};

use super::netns::Netns;
use super::pki::{LeafSpec, Pki};

/// The lab forest's DNS name (a non-routable `.local` AD domain, as many real ones are).
pub const REALM: &str = "contoso.local";
/// Its naming context.
pub const BASE_DN: &str = "DC=contoso,DC=local";
/// The administrator's password (a lab secret: tests check it never reaches a report).
pub const ADMIN_PASSWORD: &str = "Lab-Admin-Pass1!";
/// The administrator's bind name.
pub const ADMIN: &str = "Administrator@contoso.local";

/// Whether a DC can be started here: root, Samba and `ip`/`nft` installed; `Err` says what is
/// missing, for a skip message.
pub fn available() -> Result<(), String> {
    if !super::netns::available() {
        return Err("needs root with iproute2 and nftables".into());
    }
    for tool in ["samba", "samba-tool"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Err(format!(
                "`{tool}` is not installed (apt-get install samba samba-ad-dc winbind)"
            ));
        }
    }
    Ok(())
}

/// A running Samba DC. Dropping it stops Samba and deletes its namespace and directory.
pub struct SambaDc {
    ns: Netns,
    child: Child,
    dir: tempfile::TempDir,
    /// `ldaps://ADDRESS`.
    pub ldaps_url: String,
    /// `ldap://ADDRESS` (for StartTLS, or to see the plain bind refused).
    pub ldap_url: String,
    /// The lab CA (PEM file) that issued the DC's certificate.
    pub ca_file: std::path::PathBuf,
    /// The address Samba serves on.
    pub address: String,
}

impl std::fmt::Debug for SambaDc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SambaDc")
            .field("ns", &self.ns.name)
            .field("address", &self.address)
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}{}",
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .last()
                .unwrap_or("")
        ))
    }
}

/// Deletes the namespaces earlier runs' DCs left behind (a test process ends without dropping
/// its statics): `trdc<n>x<pid>` whose process is gone.
fn prune_stale_namespaces() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = name
            .strip_prefix("trdc")
            .and_then(|rest| rest.split_once('x'))
            .map(|(_, pid)| pid)
        else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", name]).output();
        }
    }
}

impl SambaDc {
    /// Provisions and starts a DC, extends its schema, and waits until LDAPS answers.
    pub async fn start() -> Result<Self, String> {
        available()?;
        prune_stale_namespaces();
        // Several DCs may run in one process (the demo and the tests' own): each its namespace,
        // veth pair and /30.
        static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let subnet = 230 + u8::try_from((std::process::id() + n * 7) % 25).unwrap_or(0);
        let ns = Netns::create(&format!("dc{}x", n % 10), subnet)?;
        let dir = tempfile::Builder::new()
            .prefix("tenant-ready-dc")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let address = ns.ns_ip.clone();
        let tls = dir.path().join("tls");
        std::fs::create_dir_all(&tls).map_err(|e| e.to_string())?;
        let pki = Pki::with_names("tenant-ready Lab DC Root", "tenant-ready Lab DC Issuing")
            .map_err(|e| e.to_string())?;
        let leaf = pki
            .leaf(&LeafSpec {
                names: vec![address.clone(), format!("dc1.{REALM}")],
                ..LeafSpec::good("dc1")
            })
            .map_err(|e| e.to_string())?;
        let pem = |label: &str, der: &[u8]| {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(der);
            let mut s = format!("-----BEGIN {label}-----\n");
            for chunk in b64.as_bytes().chunks(64) {
                s.push_str(&String::from_utf8_lossy(chunk));
                s.push('\n');
            }
            s.push_str(&format!("-----END {label}-----\n"));
            s
        };
        let chain: String = leaf.chain.iter().map(|c| pem("CERTIFICATE", c)).collect();
        let ca_file = dir.path().join("dc-ca.pem");
        std::fs::write(tls.join("cert.pem"), chain)
            .and_then(|()| std::fs::write(&ca_file, pki.root_pem()))
            .and_then(|()| std::fs::write(tls.join("ca.pem"), pki.root_pem()))
            .map_err(|e| e.to_string())?;
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            let mut key = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(tls.join("key.pem"))
                .map_err(|e| e.to_string())?;
            key.write_all(pem("PRIVATE KEY", leaf.key.secret_der()).as_bytes())
                .map_err(|e| e.to_string())?;
        }
        let target = dir.path().join("dc");
        let opt = |kv: String| format!("--option={kv}");
        run(Command::new("samba-tool")
            .args([
                "domain",
                "provision",
                "--server-role=dc",
                "--dns-backend=NONE",
                "--realm=CONTOSO.LOCAL",
                "--domain=CONTOSO",
                &format!("--adminpass={ADMIN_PASSWORD}"),
                &format!("--targetdir={}", target.display()),
            ])
            .arg(opt(format!("interfaces={address}")))
            .arg(opt("bind interfaces only=yes".into()))
            .arg(opt("server services=ldap".into()))
            .arg(opt("tls enabled=yes".into()))
            .arg(opt(format!(
                "tls keyfile={}",
                tls.join("key.pem").display()
            )))
            .arg(opt(format!(
                "tls certfile={}",
                tls.join("cert.pem").display()
            )))
            .arg(opt(format!("tls cafile={}", tls.join("ca.pem").display())))
            .arg(opt("dsdb:schema update allowed=true".into()))
            // Its own pid file and sockets: two DCs (the demo's and the tests') may run at once.
            .arg(opt(format!("pid directory={}", dir.path().display())))
            .arg(opt(format!(
                "ncalrpc dir={}",
                dir.path().join("ncalrpc").display()
            )))
            .arg(opt(format!(
                "winbindd socket directory={}",
                dir.path().join("winbindd").display()
            )))
            .arg(opt(format!(
                "ntp signd socket directory={}",
                dir.path().join("ntp_signd").display()
            )))
            .arg(opt(format!(
                "log file={}",
                dir.path().join("samba.log").display()
            )))
            .stdout(Stdio::null()))?;
        let child = ns
            .command("samba")
            .args(["-s"])
            .arg(target.join("etc/smb.conf"))
            // Interactive: in the foreground, and it ends when its stdin closes (so a test
            // process that exits without dropping the DC still stops it).
            .args(["-i", "-M", "single", "--debuglevel=0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("samba: {e}"))?;
        let dc = Self {
            ldaps_url: format!("ldaps://{address}"),
            ldap_url: format!("ldap://{address}"),
            ca_file,
            address,
            ns,
            child,
            dir,
        };
        dc.wait_ready().await?;
        dc.extend_schema().await?;
        Ok(dc)
    }

    async fn wait_ready(&self) -> Result<(), String> {
        for _ in 0..600 {
            if tokio::net::TcpStream::connect((self.address.as_str(), 636))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(self.dir.path().join("samba.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        Err(format!(
            "Samba did not serve LDAPS on {} within 60 s; its log ends: {}",
            self.address,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ))
    }

    /// An administrator's connection over LDAPS.
    pub async fn admin(&self) -> Result<Ldap, String> {
        let tls = crate::tls::TlsCx::new(Some(&self.ca_file)).map_err(|e| e.to_string())?;
        let settings = LdapConnSettings::new()
            .set_config(std::sync::Arc::new(tls.verifying_config()))
            .set_conn_timeout(Duration::from_secs(10));
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.ldaps_url)
            .await
            .map_err(|e| format!("LDAPS to the lab DC: {e}"))?;
        ldap3::drive!(conn);
        ldap.simple_bind(ADMIN, ADMIN_PASSWORD)
            .await
            .and_then(ldap3::LdapResult::success)
            .map_err(|e| format!("bind as the lab administrator: {e}"))?;
        Ok(ldap)
    }

    /// Adds `mailNickname` and `targetAddress` (Exchange's ids and syntaxes, no length bound so
    /// tests can store hostile values) to the schema and to the mail-recipient class.
    async fn extend_schema(&self) -> Result<(), String> {
        let mut ldap = self.admin().await?;
        let schema = format!("CN=Schema,CN=Configuration,{BASE_DN}");
        for (cn, name, oid) in [
            (
                "ms-Exch-Mail-Nickname",
                "mailNickname",
                "1.2.840.113556.1.2.447",
            ),
            (
                "ms-Exch-Target-Address",
                "targetAddress",
                "1.2.840.113556.1.2.352",
            ),
        ] {
            let attrs: Vec<(&str, HashSet<&str>)> = vec![
                ("objectClass", HashSet::from(["top", "attributeSchema"])),
                ("attributeID", HashSet::from([oid])),
                ("lDAPDisplayName", HashSet::from([name])),
                ("attributeSyntax", HashSet::from(["2.5.5.12"])),
                ("oMSyntax", HashSet::from(["64"])),
                ("isSingleValued", HashSet::from(["TRUE"])),
                ("searchFlags", HashSet::from(["1"])),
            ];
            ldap.add(&format!("CN={cn},{schema}"), attrs)
                .await
                .and_then(ldap3::LdapResult::success)
                .map_err(|e| format!("schema: add {name}: {e}"))?;
        }
        let refresh = |ldap: &mut Ldap| {
            let mut l = ldap.clone();
            async move {
                l.modify("", vec![Mod::Add("schemaUpdateNow", HashSet::from(["1"]))])
                    .await
                    .and_then(ldap3::LdapResult::success)
                    .map_err(|e| format!("schema: refresh: {e}"))
            }
        };
        refresh(&mut ldap).await?;
        ldap.modify(
            &format!("CN=Mail-Recipient,{schema}"),
            vec![Mod::Add(
                "mayContain",
                HashSet::from(["mailNickname", "targetAddress"]),
            )],
        )
        .await
        .and_then(ldap3::LdapResult::success)
        .map_err(|e| format!("schema: mail recipients may carry the attributes: {e}"))?;
        refresh(&mut ldap).await?;
        let _ = ldap.unbind().await;
        Ok(())
    }

    /// Creates the organizational unit `OU=name,<base>` and returns its DN.
    pub async fn add_ou(&self, ldap: &mut Ldap, name: &str) -> Result<String, String> {
        let dn = format!("OU={name},{BASE_DN}");
        ldap.add(
            &dn,
            vec![("objectClass", HashSet::from(["top", "organizationalUnit"]))],
        )
        .await
        .and_then(ldap3::LdapResult::success)
        .map_err(|e| format!("add {dn}: {e}"))?;
        Ok(dn)
    }

    /// Samba's process id (a benchmark reads its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The DC's log (for a failing test's message).
    pub fn log_path(&self) -> std::path::PathBuf {
        self.dir.path().join("samba.log")
    }
}

/// Adds an object `CN=cn,<ou>` of `class` (`user`, `contact`, `group`) with `attrs` (each
/// attribute with its values).
pub async fn add_object(
    ldap: &mut Ldap,
    ou: &str,
    cn: &str,
    class: &str,
    attrs: &[(&str, Vec<String>)],
) -> Result<String, String> {
    let dn = format!("CN={},{ou}", ldap3::dn_escape(cn));
    let classes: HashSet<String> = match class {
        "user" => ["top", "person", "organizationalPerson", "user"]
            .map(String::from)
            .into(),
        "contact" => ["top", "person", "organizationalPerson", "contact"]
            .map(String::from)
            .into(),
        other => ["top".to_owned(), other.to_owned()].into(),
    };
    let mut all: Vec<(String, HashSet<String>)> = vec![("objectClass".into(), classes)];
    for (k, v) in attrs {
        all.push(((*k).to_owned(), v.iter().cloned().collect()));
    }
    ldap.add(&dn, all)
        .await
        .and_then(ldap3::LdapResult::success)
        .map_err(|e| format!("add {dn}: {e}"))?;
    Ok(dn)
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        // Closing stdin asks an interactive samba to end; kill makes sure before the namespace
        // (and its address) goes.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SambaDc {
    /// The demo's directory: `OU=Staff` with clean users and the defects onboardings stall on
    /// first (a `.local` UPN suffix, one address on two objects, a space in an alias, a contact
    /// forwarding to a broken address).
    pub async fn seed_demo(&self) -> Result<(), String> {
        let mut l = self.admin().await?;
        let ou = self.add_ou(&mut l, "Staff").await?;
        let v = |s: &str| vec![s.to_owned()];
        for n in ["alex", "bea", "chris", "dana"] {
            add_object(
                &mut l,
                &ou,
                n,
                "user",
                &[
                    ("sAMAccountName", v(n)),
                    ("userPrincipalName", v(&format!("{n}@contoso.test"))),
                    ("mail", v(&format!("{n}@contoso.test"))),
                    ("mailNickname", v(n)),
                    ("proxyAddresses", v(&format!("SMTP:{n}@contoso.test"))),
                ],
            )
            .await?;
        }
        let objects: [(&str, &str, Vec<(&str, Vec<String>)>); 4] = [
            (
                "Erik Olsen",
                "user",
                vec![
                    ("sAMAccountName", v("eolsen")),
                    ("userPrincipalName", v("eolsen@contoso.local")),
                    ("mailNickname", v("e olsen")),
                ],
            ),
            (
                "Sales",
                "group",
                vec![
                    ("sAMAccountName", v("sales")),
                    ("mailNickname", v("sales")),
                    ("proxyAddresses", v("SMTP:sales@contoso.test")),
                ],
            ),
            (
                "Sales (old)",
                "contact",
                vec![
                    ("mailNickname", v("sales-old")),
                    ("proxyAddresses", v("smtp:sales@contoso.test")),
                    ("targetAddress", v("SMTP:sales team@fabrikam.test")),
                ],
            ),
            (
                "Fay",
                "user",
                vec![
                    ("sAMAccountName", v("fay")),
                    ("userPrincipalName", v("fay@contoso.test")),
                    ("mailNickname", v(".fay")),
                ],
            ),
        ];
        for (cn, class, attrs) in &objects {
            add_object(&mut l, &ou, cn, class, attrs).await?;
        }
        let _ = l.unbind().await;
        Ok(())
    }

    /// `[directory]` for a tenant.toml: this DC, bound as its administrator.
    pub fn tenant_toml(&self) -> String {
        format!(
            "\n# The on-premises Active Directory (a Samba DC in its own network namespace); the bind\n# password comes from TENANT_READY_LDAP_PASSWORD.\n[directory]\nurl = \"{}\"\nuser = \"{ADMIN}\"\n",
            self.ldaps_url
        )
    }

    /// The CA that issued the DC's certificate, PEM.
    pub fn ca_pem(&self) -> Result<String, String> {
        std::fs::read_to_string(&self.ca_file).map_err(|e| e.to_string())
    }
}
