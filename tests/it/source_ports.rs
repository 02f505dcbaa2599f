//! The stub resolver's source ports, seen from the servers (issue 25): a scan's queries must not
//! come from a handful of ports shared by every server, or whoever runs one scanned domain's name
//! server learns the ports towards all the others and needs to guess only the 16-bit id to forge
//! an answer (RFC 5452).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tenant_ready::lab::{Behaviour, DnsServer};
use tenant_ready::outcome::Status;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::support::{Scan, ready_zone, scan, zones};

/// One `tenant_ready::stub::sent` event: the server, the socket's serial number and local port.
#[derive(Clone, Default)]
struct Sends(Arc<Mutex<Vec<(SocketAddr, u64, u16)>>>);

#[derive(Default)]
struct Fields {
    server: Option<SocketAddr>,
    socket: Option<u64>,
    port: Option<u64>,
}

impl tracing::field::Visit for Fields {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        match field.name() {
            "socket" => self.socket = Some(value),
            "port" => self.port = Some(value),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "server" {
            self.server = format!("{value:?}").parse().ok();
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Sends {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "tenant_ready::stub::sent" {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        // TCP retries carry no socket: they are connections of their own.
        if let (Some(server), Some(socket), Some(port)) = (f.server, f.socket, f.port) {
            let port = u16::try_from(port).expect("a port");
            self.0.lock().unwrap().push((server, socket, port));
        }
    }
}

/// A 1,000-domain scan, with the resolver on 127.0.0.1 and every zone's name server on
/// 127.0.0.2: the two servers together see queries from well over 1,000 source ports; no socket
/// sends to two servers; and every port a server saw belongs to a socket that served it.
#[tokio::test]
async fn a_thousand_domain_scan_comes_from_thousands_of_ports_none_shared_by_two_servers() {
    let names: Vec<String> = (0..1000).map(|i| format!("d{i}.test")).collect();
    let texts: Vec<(&str, String)> = names
        .iter()
        .map(|d| {
            let zone = ready_zone(d).replace("ns1 IN A 127.0.0.1", "ns1 IN A 127.0.0.2");
            (d.as_str(), zone)
        })
        .collect();
    let refs: Vec<(&str, &str)> = texts.iter().map(|(o, z)| (*o, z.as_str())).collect();
    let authoritative = DnsServer::start(
        "127.0.0.2:0".parse().unwrap(),
        zones(&refs),
        Behaviour::default(),
    )
    .await
    .expect("authoritative server on 127.0.0.2");
    let resolver = DnsServer::start(
        "127.0.0.1:0".parse().unwrap(),
        zones(&refs),
        Behaviour::default(),
    )
    .await
    .expect("resolver on 127.0.0.1");

    let sends = Sends::default();
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("tenant_ready::stub::sent", tracing::Level::TRACE);
    // This test's runtime is single-threaded: the subscriber set for this thread sees every task.
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(
        tracing_subscriber::Layer::with_filter(sends.clone(), filter),
    ));
    let domains: Vec<&str> = names.iter().map(String::as_str).collect();
    let results = scan(
        resolver.addr(),
        Scan {
            domains: &domains,
            only: &["dns.*"],
            timeout: "20s",
            authoritative_port: Some(authoritative.addr().port()),
            ..Scan::default()
        },
    )
    .await;
    let failed: Vec<_> = results
        .iter()
        .filter(|r| r.status != Status::Pass)
        .map(|r| format!("{} {}: {}", r.check, r.subject, r.message))
        .take(3)
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");

    // The capture, from the servers' side.
    let seen = |server: &DnsServer| -> HashSet<u16> {
        server.udp_sources().iter().map(SocketAddr::port).collect()
    };
    let (at_resolver, at_authoritative) = (seen(&resolver), seen(&authoritative));
    assert!(!at_authoritative.is_empty(), "the NS check asked 127.0.0.2");
    let ports = at_resolver.union(&at_authoritative).count();
    assert!(ports > 1000, "{ports} distinct source ports");

    // The stub's own account: each socket served one server, from one port.
    let sends = sends.0.lock().unwrap();
    let mut sockets: HashMap<u64, (SocketAddr, u16)> = HashMap::new();
    for &(server, socket, port) in sends.iter() {
        let first = *sockets.entry(socket).or_insert((server, port));
        assert_eq!(first, (server, port), "socket {socket} sent to two servers");
    }
    // And the two accounts agree: every port a server saw was a socket's towards that server
    // (a port number may come back later for another server by chance, never the other way).
    let ports_towards = |addr: SocketAddr| -> HashSet<u16> {
        sockets
            .values()
            .filter(|(s, _)| *s == addr)
            .map(|(_, p)| *p)
            .collect()
    };
    assert!(at_resolver.is_subset(&ports_towards(resolver.addr())));
    assert!(at_authoritative.is_subset(&ports_towards(authoritative.addr())));
}
