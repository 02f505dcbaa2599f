//! STUN Binding (RFC 5389) on the wire: the request the Teams media probe sends and the parts of
//! the response it checks (message type, magic cookie, transaction id, XOR-MAPPED-ADDRESS). Pure
//! encoding and decoding; the lab's responder uses the same code to answer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// RFC 5389 magic cookie.
pub const MAGIC: u32 = 0x2112_A442;
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const BINDING_ERROR: u16 = 0x0111;
const ATTR_MAPPED_ADDRESS: u16 = 0x0001;
const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;

/// A Binding request with transaction id `txid` (20 bytes, no attributes).
pub fn binding_request(txid: &[u8; 12]) -> Vec<u8> {
    let mut m = Vec::with_capacity(20);
    m.extend_from_slice(&BINDING_REQUEST.to_be_bytes());
    m.extend_from_slice(&0u16.to_be_bytes());
    m.extend_from_slice(&MAGIC.to_be_bytes());
    m.extend_from_slice(txid);
    m
}

/// What a datagram said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// A Binding success for our transaction, with the mapped address when present.
    Success(Option<SocketAddr>),
    /// A Binding error response for our transaction.
    Error,
    /// Not STUN, or not for this transaction (ignored: it may be a stray or late datagram).
    Other,
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

/// Decodes a response to the request with `txid`.
pub fn parse_response(msg: &[u8], txid: &[u8; 12]) -> Response {
    let (Some(kind), Some(len)) = (u16_at(msg, 0), u16_at(msg, 2)) else {
        return Response::Other;
    };
    if msg.get(4..8) != Some(&MAGIC.to_be_bytes()[..]) || msg.get(8..20) != Some(&txid[..]) {
        return Response::Other;
    }
    let end = (20 + usize::from(len)).min(msg.len());
    match kind {
        BINDING_SUCCESS => {}
        BINDING_ERROR => return Response::Error,
        _ => return Response::Other,
    }
    let mut mapped = None;
    let mut at = 20;
    while at + 4 <= end {
        let (Some(t), Some(l)) = (u16_at(msg, at), u16_at(msg, at + 2)) else {
            break;
        };
        let l = usize::from(l);
        let Some(v) = msg.get(at + 4..(at + 4 + l).min(end)) else {
            break;
        };
        match t {
            ATTR_XOR_MAPPED_ADDRESS => {
                if let Some(a) = decode_address(v, Some(txid)) {
                    mapped = Some(a);
                }
            }
            ATTR_MAPPED_ADDRESS if mapped.is_none() => mapped = decode_address(v, None),
            _ => {}
        }
        at += 4 + l.div_ceil(4) * 4; // attributes are padded to 4 bytes
    }
    Response::Success(mapped)
}

/// (XOR-)MAPPED-ADDRESS value: 0, family, port, address.
fn decode_address(v: &[u8], xor_txid: Option<&[u8; 12]>) -> Option<SocketAddr> {
    let family = *v.get(1)?;
    let mut port = u16_at(v, 2)?;
    let magic = MAGIC.to_be_bytes();
    if xor_txid.is_some() {
        port ^= u16::from_be_bytes([magic[0], magic[1]]);
    }
    let ip = match family {
        1 => {
            let mut a: [u8; 4] = v.get(4..8)?.try_into().ok()?;
            if xor_txid.is_some() {
                for (x, m) in a.iter_mut().zip(magic) {
                    *x ^= m;
                }
            }
            IpAddr::V4(Ipv4Addr::from(a))
        }
        2 => {
            let mut a: [u8; 16] = v.get(4..20)?.try_into().ok()?;
            if let Some(txid) = xor_txid {
                let key: Vec<u8> = magic.iter().chain(txid.iter()).copied().collect();
                for (x, k) in a.iter_mut().zip(key) {
                    *x ^= k;
                }
            }
            IpAddr::V6(Ipv6Addr::from(a))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// A Binding success response to `request` from `peer` (what a STUN server sends): the
/// transaction id echoed and XOR-MAPPED-ADDRESS = `peer`. `None` when `request` is not a
/// Binding request.
pub fn binding_success(request: &[u8], peer: SocketAddr) -> Option<Vec<u8>> {
    if u16_at(request, 0)? != BINDING_REQUEST || request.get(4..8)? != MAGIC.to_be_bytes() {
        return None;
    }
    let txid: [u8; 12] = request.get(8..20)?.try_into().ok()?;
    let magic = MAGIC.to_be_bytes();
    let mut value = vec![0u8];
    let port = peer.port() ^ u16::from_be_bytes([magic[0], magic[1]]);
    match peer.ip() {
        IpAddr::V4(ip) => {
            value.push(1);
            value.extend_from_slice(&port.to_be_bytes());
            value.extend(ip.octets().iter().zip(magic).map(|(a, m)| a ^ m));
        }
        IpAddr::V6(ip) => {
            value.push(2);
            value.extend_from_slice(&port.to_be_bytes());
            let key: Vec<u8> = magic.iter().chain(txid.iter()).copied().collect();
            value.extend(ip.octets().iter().zip(key).map(|(a, k)| a ^ k));
        }
    }
    let mut m = Vec::new();
    m.extend_from_slice(&BINDING_SUCCESS.to_be_bytes());
    m.extend_from_slice(&u16::try_from(4 + value.len()).ok()?.to_be_bytes());
    m.extend_from_slice(&magic);
    m.extend_from_slice(&txid);
    m.extend_from_slice(&ATTR_XOR_MAPPED_ADDRESS.to_be_bytes());
    m.extend_from_slice(&u16::try_from(value.len()).ok()?.to_be_bytes());
    m.extend_from_slice(&value);
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_response_round_trip() {
        let txid = [7u8; 12];
        let req = binding_request(&txid);
        assert_eq!(req.len(), 20);
        for peer in ["203.0.113.5:41234", "[2001:db8::1]:3478"] {
            let peer: SocketAddr = peer.parse().unwrap();
            let resp = binding_success(&req, peer).unwrap();
            assert_eq!(parse_response(&resp, &txid), Response::Success(Some(peer)));
            assert_eq!(
                parse_response(&resp, &[8u8; 12]),
                Response::Other,
                "wrong transaction"
            );
        }
        assert_eq!(parse_response(b"hello", &txid), Response::Other);
        assert_eq!(
            binding_success(b"not stun at all....", "1.2.3.4:5".parse().unwrap()),
            None
        );
    }

    #[test]
    fn rfc5769_sample_ipv4_response() {
        // RFC 5769 §2.2 sample IPv4 response (software, mapped address, integrity, fingerprint).
        let hex = "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000080001a147e112a643000800149db7ae6b7ec80f1ce4d8a7ac53ead9e3e1046f0f8028000445c6a8a4";
        let b: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let txid: [u8; 12] = b[8..20].try_into().unwrap();
        assert_eq!(
            parse_response(&b, &txid),
            Response::Success(Some("192.0.2.1:32853".parse().unwrap()))
        );
    }
}
