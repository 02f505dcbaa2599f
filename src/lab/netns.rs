//! A network namespace joined to the host by a veth pair on a private /30, for tests and
//! benchmarks that need a real firewall between the scanner and its targets (filtered ports).
//! Built and torn down with `ip`; rules go in with `nft`; everything is root-only. Deleting the
//! namespace (on drop, whatever happened) deletes the veth pair with it.

use std::process::Command;

/// A namespace `tr<tag><pid>` with `host_ip` (host end) and `ns_ip` (namespace end).
#[derive(Debug)]
pub struct Netns {
    /// Namespace name (for `ip netns exec`).
    pub name: String,
    /// Address of the host end of the veth.
    pub host_ip: String,
    /// Address inside the namespace.
    pub ns_ip: String,
    /// The host end's interface (in the root namespace).
    pub host_if: String,
    /// The namespace end's interface.
    pub ns_if: String,
}

fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether this process can build namespaces: root, with `ip` and `nft` installed.
pub fn available() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    root && Command::new("ip").arg("-V").output().is_ok()
        && Command::new("nft").arg("--version").output().is_ok()
}

impl Netns {
    /// Creates the namespace and veth pair; `subnet` picks 10.213.`subnet`.0/30 (callers that run
    /// side by side pass different values).
    pub fn create(tag: &str, subnet: u8) -> Result<Self, String> {
        let pid = std::process::id();
        let name = format!("tr{tag}{pid}");
        let host_ip = format!("10.213.{subnet}.1");
        let ns_ip = format!("10.213.{subnet}.2");
        let (va, vb) = (
            format!("trh{tag}{}", pid % 10_000),
            format!("trn{tag}{}", pid % 10_000),
        );
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(&["ip", "netns", "add", &name])?;
        // From here on, drop cleans up.
        let me = Self {
            name: name.clone(),
            host_ip: host_ip.clone(),
            ns_ip: ns_ip.clone(),
            host_if: va.clone(),
            ns_if: vb.clone(),
        };
        run(&[
            "ip", "link", "add", &va, "type", "veth", "peer", "name", &vb,
        ])?;
        run(&["ip", "link", "set", &vb, "netns", &name])?;
        run(&["ip", "addr", "add", &format!("{host_ip}/30"), "dev", &va])?;
        run(&["ip", "link", "set", &va, "up"])?;
        run(&[
            "ip",
            "-n",
            &name,
            "addr",
            "add",
            &format!("{ns_ip}/30"),
            "dev",
            &vb,
        ])?;
        run(&["ip", "-n", &name, "link", "set", &vb, "up"])?;
        run(&["ip", "-n", &name, "link", "set", "lo", "up"])?;
        Ok(me)
    }

    /// Runs one `nft` command inside the namespace.
    pub fn nft(&self, rule: &str) -> Result<(), String> {
        run(&["ip", "netns", "exec", &self.name, "nft", rule])
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }
}

impl Netns {
    /// `nmap -n -Pn -sT --max-retries 0` from inside the namespace: port → state (`open`,
    /// `closed`, `filtered`). Read from the XML output: the grepable one leaves out the ports
    /// nmap folds into "ignored states", the XML one lists them (`extrareasons ports="…"`).
    pub fn nmap_tcp(
        &self,
        host: &str,
        ports: &[u16],
    ) -> Result<std::collections::BTreeMap<u16, String>, String> {
        let list: Vec<String> = ports.iter().map(ToString::to_string).collect();
        let out = self
            .command("nmap")
            .args([
                "-n",
                "-Pn",
                "-sT",
                "--max-retries",
                "0",
                "--host-timeout",
                "120s",
            ])
            .args(["-p", &list.join(","), "-oX", "-", host])
            .output()
            .map_err(|e| format!("nmap: {e}"))?;
        let xml = String::from_utf8_lossy(&out.stdout);
        let doc = roxmltree::Document::parse_with_options(
            &xml,
            roxmltree::ParsingOptions {
                allow_dtd: true, // nmap's own output declares its DTD
                ..roxmltree::ParsingOptions::default()
            },
        )
        .map_err(|e| format!("nmap XML: {e}"))?;
        let mut states = std::collections::BTreeMap::new();
        for port in doc.descendants().filter(|n| n.has_tag_name("port")) {
            let id = port.attribute("portid").and_then(|p| p.parse::<u16>().ok());
            let state = port
                .children()
                .find(|c| c.has_tag_name("state"))
                .and_then(|s| s.attribute("state"));
            if let (Some(id), Some(state)) = (id, state) {
                states.insert(id, state.to_owned());
            }
        }
        for extra in doc.descendants().filter(|n| n.has_tag_name("extraports")) {
            let Some(state) = extra.attribute("state") else {
                continue;
            };
            for reasons in extra.children().filter(|c| c.has_tag_name("extrareasons")) {
                let ranges =
                    crate::endpoint_sets::parse_ports(reasons.attribute("ports").unwrap_or(""))?;
                for p in ranges.into_iter().flatten() {
                    states.insert(p, state.to_owned());
                }
            }
        }
        Ok(states)
    }
}

impl Netns {
    /// Shapes both directions of the veth with HTB at `mbit` Mbit/s (replacing any earlier
    /// shaping): the host end's egress is the namespace's download, the namespace end's its upload.
    pub fn shape(&self, mbit: u32) -> Result<(), String> {
        let rate = format!("{mbit}mbit");
        for (ns, dev) in [(None, &self.host_if), (Some(&self.name), &self.ns_if)] {
            let mut base: Vec<&str> = Vec::new();
            if let Some(n) = ns {
                base.extend(["ip", "netns", "exec", n.as_str()]);
            }
            let tc = |args: &[&str]| {
                let mut v = base.clone();
                v.push("tc");
                v.extend_from_slice(args);
                run(&v)
            };
            let _ = tc(&["qdisc", "del", "dev", dev, "root"]);
            tc(&[
                "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "10",
            ])?;
            tc(&[
                "class", "add", "dev", dev, "parent", "1:", "classid", "1:10", "htb", "rate",
                &rate, "ceil", &rate,
            ])?;
        }
        Ok(())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
