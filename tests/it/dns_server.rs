//! An in-process DNS responder on one loopback port, over UDP and TCP, built on hickory-proto's
//! message codec. Its zone: `ok.test.` (A 192.0.2.1 and 192.0.2.2, TXT "v=ok", MX 10
//! mail.ok.test.), `fail.test.` (SERVFAIL), `slow.test.` (never answers), `big.test.` (truncated
//! over UDP, the full TXT set over TCP), anything else NXDOMAIN.

use std::net::{Ipv4Addr, SocketAddr};

use hickory_net::proto::op::{Message, ResponseCode};
use hickory_net::proto::rr::rdata::{A, MX, TXT};
use hickory_net::proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running responder; it stops when dropped.
pub struct DnsServer {
    pub addr: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts the responder on a free loopback port, UDP and TCP alike.
pub async fn start() -> DnsServer {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let udp = tokio::net::UdpSocket::bind(addr).await.unwrap();
    let udp_task = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((n, peer)) = udp.recv_from(&mut buf).await {
            if let Some(reply) = answer(&buf[..n], false) {
                let _ = udp.send_to(&reply, peer).await;
            }
        }
    });
    let tcp_task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = tcp.accept().await {
            tokio::spawn(async move {
                let mut len = [0u8; 2];
                if stream.read_exact(&mut len).await.is_err() {
                    return;
                }
                let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if stream.read_exact(&mut buf).await.is_err() {
                    return;
                }
                if let Some(reply) = answer(&buf, true) {
                    let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&reply);
                    let _ = stream.write_all(&framed).await;
                }
            });
        }
    });
    DnsServer {
        addr,
        tasks: vec![udp_task, tcp_task],
    }
}

/// The reply to one query, or `None` to stay silent.
fn answer(query: &[u8], over_tcp: bool) -> Option<Vec<u8>> {
    let query = Message::from_vec(query).ok()?;
    let q = query.queries.first()?.clone();
    let name = q.name().to_ascii().to_ascii_lowercase();
    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.add_query(q.clone());
    let record = |rdata: RData| Record::from_rdata(q.name().clone(), 60, rdata);
    match (name.as_str(), q.query_type()) {
        ("slow.test.", _) => return None,
        ("fail.test.", _) => reply.metadata.response_code = ResponseCode::ServFail,
        ("ok.test.", RecordType::A) => {
            for ip in [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)] {
                reply.answers.push(record(RData::A(A(ip))));
            }
        }
        ("ok.test.", RecordType::TXT) => {
            reply
                .answers
                .push(record(RData::TXT(TXT::new(vec!["v=ok".into()]))));
        }
        ("ok.test.", RecordType::MX) => {
            let exchange = Name::from_ascii("mail.ok.test.").ok()?;
            reply.answers.push(record(RData::MX(MX::new(10, exchange))));
        }
        ("ok.test.", _) => {}
        ("big.test.", RecordType::TXT) if !over_tcp => reply.metadata.truncation = true,
        ("big.test.", RecordType::TXT) => {
            for i in 0..40 {
                let text = format!("record {i:02} {}", "x".repeat(40));
                reply.answers.push(record(RData::TXT(TXT::new(vec![text]))));
            }
        }
        _ => reply.metadata.response_code = ResponseCode::NXDomain,
    }
    reply.to_vec().ok()
}
