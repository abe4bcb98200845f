//! Multi-Paxos messages written as `{:?}` prints them, without the formatting machinery or
//! the copy of each command's operation that `LogCommand`'s `Debug` makes (as Raft's
//! messages, [`crate::protocols::raft::messages`]): the labels of a report's events. A test
//! holds every writer here to `format!("{:?}")`.

use super::messages::{Ballot, LogCommand, MultiMsg};
use crate::workload::kv::{more_fields, open_struct as open, push_decimal, write_tuple};

fn ballot(out: &mut String, b: &Ballot) {
    open(
        out,
        "Ballot",
        &[("round", b.round), ("node", b.node.into())],
    );
    out.push_str(" }");
}

/// `, name: ` then the ballot.
fn ballot_field(out: &mut String, name: &str, b: &Ballot) {
    out.push_str(", ");
    out.push_str(name);
    out.push_str(": ");
    ballot(out, b);
}

impl LogCommand {
    /// Appends what `{:?}` prints (as the shared `Command` prints).
    pub fn write_debug(&self, out: &mut String) {
        match &self.client {
            None => out.push_str("Noop"),
            Some(c) => {
                open(
                    out,
                    "Client",
                    &[("client", c.client.into()), ("seq", c.seq)],
                );
                out.push_str(", op: ");
                c.op.write_debug(out);
                out.push_str(" }");
            }
        }
    }
}

impl MultiMsg {
    /// Appends what `{:?}` prints ([`crate::sim::Node::write_label`]).
    pub fn write_debug(&self, out: &mut String) {
        match self {
            MultiMsg::Prepare { ballot: b, from } => {
                out.push_str("Prepare { ballot: ");
                ballot(out, b);
                more_fields(out, &[("from", *from)]);
            }
            MultiMsg::Promise {
                ballot: b,
                accepted,
            } => {
                out.push_str("Promise { ballot: ");
                ballot(out, b);
                out.push_str(", accepted: [");
                for (k, (slot, at, cmd)) in accepted.iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    out.push('(');
                    push_decimal(out, *slot);
                    out.push_str(", ");
                    ballot(out, at);
                    out.push_str(", ");
                    cmd.write_debug(out);
                    out.push(')');
                }
                out.push(']');
            }
            MultiMsg::Accept {
                ballot: b,
                slot,
                command,
                chosen,
            } => {
                out.push_str("Accept { ballot: ");
                ballot(out, b);
                more_fields(out, &[("slot", *slot)]);
                out.push_str(", command: ");
                command.write_debug(out);
                more_fields(out, &[("chosen", *chosen)]);
            }
            MultiMsg::Accepted { ballot: b, slot } => {
                out.push_str("Accepted { ballot: ");
                ballot(out, b);
                more_fields(out, &[("slot", *slot)]);
            }
            MultiMsg::Reject {
                ballot: b,
                promised,
            } => {
                out.push_str("Reject { ballot: ");
                ballot(out, b);
                ballot_field(out, "promised", promised);
            }
            MultiMsg::Heartbeat { ballot: b, chosen } => {
                out.push_str("Heartbeat { ballot: ");
                ballot(out, b);
                more_fields(out, &[("chosen", *chosen)]);
            }
            MultiMsg::CatchUp { from } => open(out, "CatchUp", &[("from", *from)]),
            MultiMsg::Chosen { entries } => {
                out.push_str("Chosen { entries: [");
                for (k, (slot, cmd)) in entries.iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    out.push('(');
                    push_decimal(out, *slot);
                    out.push_str(", ");
                    cmd.write_debug(out);
                    out.push(')');
                }
                out.push(']');
            }
            MultiMsg::Request(r) => return write_tuple(out, "Request", |o| r.write_debug(o)),
            MultiMsg::Reply(r) => return write_tuple(out, "Reply", |o| r.write_debug(o)),
            MultiMsg::LeaseRenew {
                ballot: b,
                chosen,
                start,
            } => {
                out.push_str("LeaseRenew { ballot: ");
                ballot(out, b);
                more_fields(out, &[("chosen", *chosen), ("start", *start)]);
            }
            MultiMsg::LeaseGrant { ballot: b, start } => {
                out.push_str("LeaseGrant { ballot: ");
                ballot(out, b);
                more_fields(out, &[("start", *start)]);
            }
            MultiMsg::LeaseHeld { ballot: b, holder } => {
                out.push_str("LeaseHeld { ballot: ");
                ballot(out, b);
                ballot_field(out, "holder", holder);
            }
        }
        out.push_str(" }");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::kv::{KvReply, KvRequest, KvResult};

    /// Every message shape, over the key-value store's operations of every shape.
    fn messages() -> Vec<MultiMsg> {
        let ops = crate::workload::kv::label_tests::ops();
        let cmds: Vec<_> = std::iter::once(LogCommand::noop())
            .chain(ops.iter().enumerate().map(|(k, op)| {
                LogCommand::client([0, 3, u32::MAX][k % 3], [0, 9, u64::MAX][k % 3], op.clone())
            }))
            .collect();
        let b = |round: u64, node: u32| Ballot { round, node };
        let (x, y) = (b(u64::MAX, u32::MAX), b(1, 2));
        let mut v = vec![
            MultiMsg::Prepare { ballot: x, from: 0 },
            MultiMsg::Accepted { ballot: y, slot: 7 },
            MultiMsg::Reject {
                ballot: y,
                promised: x,
            },
            MultiMsg::Heartbeat {
                ballot: Ballot::ZERO,
                chosen: u64::MAX,
            },
            MultiMsg::CatchUp { from: 12 },
            MultiMsg::LeaseRenew {
                ballot: y,
                chosen: 3,
                start: 1_000_000_007,
            },
            MultiMsg::LeaseGrant {
                ballot: x,
                start: 0,
            },
            MultiMsg::LeaseHeld {
                ballot: y,
                holder: x,
            },
            MultiMsg::Reply(KvReply::Done {
                seq: 4,
                attempt: 1,
                result: KvResult::Value("a\"\\b".into()),
            }),
            MultiMsg::Reply(KvReply::NotLeader {
                seq: 4,
                attempt: 1,
                hint: None,
            }),
        ];
        for len in [0, 1, 3, cmds.len()] {
            v.push(MultiMsg::Promise {
                ballot: y,
                accepted: (0..len)
                    .map(|k| (k as u64, b(k as u64, 1), cmds[k].clone()))
                    .collect(),
            });
            v.push(MultiMsg::Chosen {
                entries: (0..len).map(|k| (k as u64 + 1, cmds[k].clone())).collect(),
            });
        }
        for (k, c) in cmds.iter().enumerate() {
            v.push(MultiMsg::Accept {
                ballot: x,
                slot: k as u64,
                command: c.clone(),
                chosen: k as u64 / 2,
            });
        }
        for (k, op) in ops.into_iter().enumerate() {
            v.push(MultiMsg::Request(Box::new(KvRequest {
                client: k as u32,
                seq: k as u64,
                attempt: 0,
                op,
            })));
        }
        v
    }

    #[test]
    fn write_debug_prints_what_debug_prints() {
        crate::workload::kv::label_tests::assert_writes_debug(messages(), MultiMsg::write_debug);
    }
}
